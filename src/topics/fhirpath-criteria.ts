// A resource trigger's fhirPathCriteria, evaluated with fhirpath.js. Kept apart from trigger.ts so
// the fhirpath dependency and its models sit behind one small function.
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import r5Model from 'fhirpath/fhir-context/r5';
import type { FhirVersion } from '../config.js';
import type { FhirResource } from '../events/event.js';

// Without a model fhirpath.js cannot resolve choice elements (`value` of `valueQuantity`), so
// `%current.value.ofType(Quantity)` would quietly be empty. fhirpath.js ships no R4B model; R4's
// is the nearest (R4B mostly adds resources), so it serves R4B too.
const MODELS = { r4: r4Model, r5: r5Model } as const;
const modelFor = (version: FhirVersion): keyof typeof MODELS => (version === 'R5' ? 'r5' : 'r4');

type Evaluator = (resource: unknown, env: Record<string, unknown>) => unknown[];

// Topics are few but upstream ones can be edited at will, so the cache is bounded; a compile
// failure is cached too, so a broken topic costs one parse, not one per event.
const MAX_CACHED = 1000;
const compiled = new Map<string, Evaluator | Error>();

function compile(version: FhirVersion, expression: string): Evaluator | Error {
  const model = modelFor(version);
  const key = `${model} ${expression}`;
  let entry = compiled.get(key);
  if (entry === undefined) {
    try {
      entry = fhirpath.compile(expression, MODELS[model]) as Evaluator;
    } catch (err) {
      entry = err instanceof Error ? err : new Error(String(err));
    }
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, entry);
  }
  return entry;
}

/**
 * Whether `expression` refers to `%previous` (also in FHIRPath's delimited forms). A string
 * literal that merely contains the text also counts: that costs a history read, never a wrong answer.
 */
export function mentionsPrevious(expression: string): boolean {
  return /%(?:previous\b|`previous`|'previous')/.test(expression);
}

export interface FhirPathInput {
  /** The resource the expression's bare paths start from: current, or previous for a delete. */
  context: FhirResource;
  previous?: FhirResource;
  current?: FhirResource;
}

/**
 * true only when the expression yields exactly `[true]`; anything else it yields is false. A parse
 * or evaluation error (bad syntax, type clash, an async function such as resolve() or memberOf(),
 * an unknown %variable) is 'undecidable': the expression says nothing about this change.
 */
export function fhirPathCriteriaPasses(version: FhirVersion, expression: string, input: FhirPathInput): boolean | 'undecidable' {
  const evaluate = compile(version, expression);
  if (evaluate instanceof Error) return 'undecidable';
  // fhirpath.js defines only %context and %ucum; FHIR's %resource and %rootResource are the
  // context resource here, since a trigger starts from a whole resource.
  const env = { previous: input.previous ?? {}, current: input.current ?? {}, resource: input.context, rootResource: input.context };
  let result: unknown[];
  try {
    result = evaluate(input.context, env);
  } catch {
    return 'undecidable';
  }
  return Array.isArray(result) && result.length === 1 && result[0] === true;
}
