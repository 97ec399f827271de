// A search parameter's FHIRPath, made evaluable in memory. `resolve()` needs the referenced
// resource, which a sidecar does not have; but the tables only ever use it as
// `X.where(resolve() is T)`, which asks for the type of the referenced resource, and that the
// reference itself usually tells. So each `|` branch of that shape becomes "evaluate X, keep the
// references to T". Any other use of resolve() makes the parameter undecidable.
//
// The static types of the result are worked out from the model too: token matching needs to know,
// before seeing any resource, whether a parameter can yield bare codes (whose code system is implicit
// and server-specific) or only Codings/Identifiers (whose systems are explicit).
import type { Model } from 'fhirpath';
import type { FhirVersion } from '../../config.js';
import type { SearchParameterDef } from '../search-parameters.js';
import { compiled, modelFor, type Evaluator } from './engine.js';

export interface Branch {
  readonly evaluate: Evaluator;
  /** Keep only references to this resource type (the `where(resolve() is T)` pattern). */
  readonly target?: string;
}

export interface Plan {
  readonly branches: readonly Branch[];
  /** FHIR type names the expression can yield; undefined when the model cannot tell. */
  readonly types: ReadonlySet<string> | undefined;
}

const RESOLVE_IS = /^(.+)\.where\(\s*resolve\(\)\s+is\s+([A-Za-z]+)\s*\)$/s;
const AS_OPERATOR = /^(.+)\s+as\s+([A-Za-z]+)$/s;
const TYPE_FUNCTION = /^(.+)\.(?:ofType|as)\(\s*([A-Za-z]+)\s*\)$/s;
const SIMPLE_PATH = /^[A-Za-z]+(?:\.[A-Za-z]+)*$/;

/** Top-level `|` branches (outside parentheses and string literals). */
export function unionBranches(expression: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === "'") quote = false;
    } else if (c === "'") quote = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(expression.slice(start, i));
      start = i + 1;
    }
  }
  out.push(expression.slice(start));
  return out.map((b) => stripParens(b.trim()));
}

function stripParens(text: string): string {
  while (text.startsWith('(') && text.endsWith(')') && closingParen(text, 0) === text.length - 1) {
    text = text.slice(1, -1).trim();
  }
  return text;
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === "'") quote = false;
    } else if (c === "'") quote = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Removes every `.where(...)`: it filters values but never changes their type. */
function withoutWhere(path: string): string | undefined {
  let out = path;
  for (let at = out.indexOf('.where('); at >= 0; at = out.indexOf('.where(')) {
    const close = closingParen(out, at + '.where'.length);
    if (close < 0) return undefined;
    out = out.slice(0, at) + out.slice(close + 1);
  }
  return out;
}

const PRIMITIVES = new Set([
  'boolean',
  'integer',
  'integer64',
  'string',
  'decimal',
  'uri',
  'url',
  'canonical',
  'base64Binary',
  'instant',
  'date',
  'dateTime',
  'time',
  'code',
  'oid',
  'id',
  'markdown',
  'unsignedInt',
  'positiveInt',
  'uuid',
  'xhtml',
]);

/** Choice-type suffixes are capitalised (`DateTime`); the FHIR type name of a primitive is not. */
function typeName(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

function staticBranchTypes(model: Model, branch: string): ReadonlySet<string> | undefined {
  const cast = AS_OPERATOR.exec(branch) ?? TYPE_FUNCTION.exec(branch);
  if (cast?.[2]) return new Set([typeName(cast[2])]);
  const path = withoutWhere(branch);
  if (path === undefined || !SIMPLE_PATH.test(path)) return undefined;
  const [root, ...segments] = path.split('.');
  let at = root ?? '';
  for (let i = 0; i < segments.length; i++) {
    const full = `${at}.${segments[i] ?? ''}`;
    const defined = model.pathsDefinedElsewhere[full] ?? full;
    const type = model.path2Type[defined];
    if (type === undefined) {
      const choices = model.choiceTypePaths[defined];
      return choices && i === segments.length - 1 ? new Set(choices.map(typeName)) : undefined;
    }
    if (i === segments.length - 1) return new Set([type]);
    at = type === 'BackboneElement' || type === 'Element' ? defined : type;
  }
  return undefined;
}

function staticTypes(model: Model, branches: readonly string[]): ReadonlySet<string> | undefined {
  const all = new Set<string>();
  for (const b of branches) {
    const resolved = RESOLVE_IS.exec(b);
    const types = resolved ? new Set(['Reference']) : staticBranchTypes(model, b);
    if (!types) return undefined;
    for (const t of types) all.add(t);
  }
  return all;
}

function buildPlan(model: Model, expression: string): Plan | undefined {
  const texts = unionBranches(expression);
  const branches: Branch[] = [];
  try {
    for (const text of texts) {
      const m = RESOLVE_IS.exec(text);
      const path = m?.[1] ?? text;
      if (path.includes('resolve(')) return undefined;
      branches.push(m?.[2] ? { evaluate: compiled(model, path), target: m[2] } : { evaluate: compiled(model, path) });
    }
  } catch {
    return undefined;
  }
  return { branches, types: staticTypes(model, texts) };
}

// Definitions are frozen and cached per version and resource type, so each keys one plan.
const plans = new WeakMap<SearchParameterDef, Plan | null>();

/** How to evaluate a parameter in memory; undefined when it cannot be (no expression, or resolve() beyond the type test). */
export function planFor(version: FhirVersion, resourceType: string, def: SearchParameterDef): Plan | undefined {
  let plan = plans.get(def);
  if (plan === undefined) {
    plan = (def.expression === undefined ? undefined : buildPlan(modelFor(version, resourceType), def.expression)) ?? null;
    plans.set(def, plan);
  }
  return plan ?? undefined;
}
