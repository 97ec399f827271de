// FHIR search parameters evaluated against one resource in memory, for the match step: filters a
// server would decide the same way everywhere are decided here; the rest come back 'undecidable'
// so the caller can ask the upstream (`GET Type?_id=<id>&<filter>`).
//
// Token and reference equality is defined as key-set intersection, and the match index uses the
// same keys (indexKeys / filterKeys), so an indexed lookup and evaluateFilter cannot disagree.
import type { FhirVersion } from '../../config.js';
import type { FhirResource } from '../../events/event.js';
import { splitUnescaped } from './escape.js';
import { extract } from './extract.js';
import { evaluateValues, referenceQueries, tokenQueries } from './filter.js';
import { evaluable } from './parameter.js';
import { referenceSide } from './reference.js';
import { mayBePrimitive, tokenSide } from './token.js';
import { UNDECIDABLE, allOf, type FilterSpec, type Verdict } from './verdict.js';

export type { FilterSpec, Verdict } from './verdict.js';
export { UNDECIDABLE } from './verdict.js';
export { QueryInvalid, parseQuery } from './query.js';

/**
 * One filter on one resource. 'undecidable' for what the evaluator cannot decide exactly like a
 * server would: chains, `_has`, composite and special parameters, unknown parameters or ones
 * without an expression, phonetic and other processing modes, modifiers it does not implement,
 * malformed values, a resource of another type than the filter's, and the value-level cases the
 * type matchers list.
 */
export function evaluateFilter(version: FhirVersion, resource: FhirResource, filter: FilterSpec): Verdict {
  if (resource.resourceType !== filter.resourceType || filter.modifier?.includes('.')) return UNDECIDABLE;
  const p = evaluable(version, filter.resourceType, filter.parameter);
  if (!p) return UNDECIDABLE;
  const ex = extract(version, p.plan, resource);
  return ex ? evaluateValues(version, p, ex, filter) : UNDECIDABLE;
}

/** AND of filters: false if any is false; else 'undecidable' if any is; else true. */
export function evaluateQuery(version: FhirVersion, resource: FhirResource, filters: readonly FilterSpec[]): Verdict {
  return allOf(filters, (f) => evaluateFilter(version, resource, f));
}

/**
 * The equality keys a resource has for a parameter: `Type/id` for references (base URL and
 * `_history` dropped), `code`, `system|code`, `system|` and `|code` (no system) for tokens, parts
 * escaped as in search values. undefined when the parameter is not a token or reference one, or
 * when for this resource some equality filter would be undecidable (references of unknown target
 * type, canonical values, values tokens do not cover): the caller must then evaluate every filter
 * on the parameter with evaluateFilter.
 */
export function indexKeys(version: FhirVersion, resource: FhirResource, parameter: string): string[] | undefined {
  const p = evaluable(version, resource.resourceType, parameter);
  if (!p || (p.def.type !== 'token' && p.def.type !== 'reference')) return undefined;
  const ex = extract(version, p.plan, resource);
  if (!ex || ex.unknown) return undefined;
  if (p.def.type === 'token') {
    const side = tokenSide(ex.values);
    // A bare code where the model promised Codings only: the keys would not cover system queries.
    if (side.unsupported || (side.primitive && !mayBePrimitive(p.plan.types))) return undefined;
    return [...side.keys];
  }
  const side = referenceSide(version, ex.values);
  return side.unsupported || side.canonicals.length > 0 ? undefined : [...side.keys];
}

/**
 * The keys an equality filter looks up in the index, one per OR item; a resource matches iff its
 * indexKeys meet them. undefined when the filter is not a plain equality on a token or reference
 * parameter (a modifier other than a reference's `:Type`, a comparator), or when some item's
 * answer cannot be a key lookup: a system-qualified token on a parameter that may hold bare codes,
 * a version-specific or `url|version` reference, a bare id on a parameter with several target types.
 */
export function filterKeys(version: FhirVersion, filter: FilterSpec): string[] | undefined {
  const p = evaluable(version, filter.resourceType, filter.parameter);
  if (!p || filter.comparator !== undefined) return undefined;
  const items = splitUnescaped(filter.value, ',');
  if (p.def.type === 'token') {
    if (filter.modifier !== undefined) return undefined;
    const queries = tokenQueries(items);
    if (!queries || (mayBePrimitive(p.plan.types) && queries.some((q) => q.hasSystem))) return undefined;
    return [...new Set(queries.map((q) => q.key))];
  }
  if (p.def.type !== 'reference' || filter.modifier === 'not' || filter.modifier === 'identifier' || filter.modifier === 'missing') {
    return undefined;
  }
  const queries = referenceQueries(version, p, items, filter.modifier);
  const keys = queries?.map((q) => (q.versioned === undefined ? q.key : undefined));
  return keys?.every((k) => k !== undefined) ? [...new Set(keys)] : undefined;
}
