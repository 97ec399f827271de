// fhirpath.js behind one door: the model per FHIR version, compiled expressions cached, and
// results turned into (FHIR type, JSON) pairs so that matchers can tell a Coding from a code and a
// Reference from a canonical.
import fhirpath from 'fhirpath';
import type { Model } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import r5 from 'fhirpath/fhir-context/r5';
import type { FhirVersion } from '../../config.js';
import type { FhirResource } from '../../events/event.js';

/** A value an expression selected: its FHIR type name (`Coding`, `code`, `Reference`, ...) and its JSON. */
export interface TypedValue {
  readonly type: string;
  readonly data: unknown;
}

export type Evaluator = (resource: FhirResource) => TypedValue[];

/**
 * fhirpath.js ships no R4B model. R4's fits R4B's resources that R4 has; for the ones R4B added
 * (SubscriptionTopic, Citation, ...) and the few R4 tables add (SubscriptionStatus), R5's is the
 * nearest, since those resources went on into R5. Without a model, values have no types and every
 * match on them would be undecidable.
 */
export function modelFor(version: FhirVersion, resourceType: string): Model {
  if (version === 'R5') return r5;
  return r4.type2Parent[resourceType] === undefined && r5.type2Parent[resourceType] !== undefined ? r5 : r4;
}

// System types appear where the model has no FHIR type (`Resource.id`) or an expression computes a value.
const SYSTEM_TYPES: Readonly<Record<string, string>> = {
  'System.String': 'string',
  'System.Boolean': 'boolean',
  'System.Integer': 'integer',
  'System.Decimal': 'decimal',
  'System.Date': 'date',
  'System.DateTime': 'dateTime',
  'System.Time': 'time',
};

interface NodeLike {
  fhirNodeDataType: string | null;
  data: unknown;
}

function isNode(item: unknown): item is NodeLike {
  return typeof item === 'object' && item !== null && 'fhirNodeDataType' in item && 'data' in item;
}

function typed(item: unknown): TypedValue {
  if (isNode(item)) {
    const t = item.fhirNodeDataType ?? 'unknown';
    // fhirpath.js wraps decimals; their text is what the precision rules read.
    const data = item.data instanceof fhirpath.FP_Decimal ? item.data.toString() : item.data;
    return { type: SYSTEM_TYPES[t] ?? t, data };
  }
  switch (typeof item) {
    case 'boolean':
      return { type: 'boolean', data: item };
    case 'string':
      return { type: 'string', data: item };
    case 'number':
      return { type: 'decimal', data: item };
    default:
      // Internal FHIRPath values (quantities, dates from arithmetic): no search parameter produces them.
      return { type: 'unknown', data: item };
  }
}

const cache = new Map<string, Evaluator | Error>();

/** The compiled expression; throws (and keeps throwing, cheaply) when fhirpath.js cannot compile it. */
export function compiled(model: Model, path: string): Evaluator {
  const key = `${model.version}\n${path}`;
  let entry = cache.get(key);
  if (entry === undefined) {
    try {
      const fn = fhirpath.compile(path, model, { resolveInternalTypes: false });
      entry = (resource: FhirResource) => (fn(resource) as unknown[]).map(typed);
    } catch (err) {
      entry = err instanceof Error ? err : new Error(String(err));
    }
    cache.set(key, entry);
  }
  if (entry instanceof Error) throw entry;
  return entry;
}
