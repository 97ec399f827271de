// Syntax of the two filter strings a Subscription can carry, with no knowledge of topics:
// - a backport `backport-filter-criteria` string, in any of the forms seen in the wild
//   (`Encounter?patient=Patient/123`, `Encounter.patient=Patient/123`, `patient=Patient/123`,
//   each parameter optionally `:modifier`, several joined by `&`);
// - a classic R4 criteria string (`Observation?code=http://loinc.org|1234-5`).
// Comparator prefixes (`length=gt10`) stay in the value: whether `gt` is a comparator depends on
// the parameter's type, which only the topic (or a search-parameter definition) knows.
import { RESOURCE_TYPE_PATTERN } from './resource-type.js';

export interface FilterCriterion {
  resourceType?: string;
  parameter: string;
  modifier?: string;
  /** URL-decoded, comparator prefix (if any) still in place. */
  value: string;
}

export type FilterParse = { ok: true; filters: FilterCriterion[] } | { ok: false; reason: string };

export type CriteriaParse = { ok: true; resourceType: string; filters: FilterCriterion[] } | { ok: false; reason: string };

const DOTTED_NAME = /^([A-Z][A-Za-z]+)\.(.+)$/;

/**
 * One `backport-filter-criteria` string. All forms are read as a query string: split on `&`,
 * each piece on its first `=`, names and values percent-decoded. A `Type?` in front (search-URL
 * form) sets the resource type of every piece; without it a piece may name its own as `Type.param`.
 */
export function parseFilterCriteria(text: string): FilterParse {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'the filter is empty' };
  const question = trimmed.indexOf('?');
  const equals = trimmed.indexOf('=');
  // A `?` after the first `=` belongs to a value, not to a search-URL prefix.
  if (question >= 0 && (equals < 0 || question < equals)) {
    const resourceType = trimmed.slice(0, question);
    if (!RESOURCE_TYPE_PATTERN.test(resourceType)) {
      return { ok: false, reason: `'${resourceType}' before '?' is not a resource type` };
    }
    return atLeastOne(parseQuery(trimmed.slice(question + 1), resourceType, false));
  }
  return atLeastOne(parseQuery(trimmed, undefined, true));
}

/** A classic R4 `Subscription.criteria`: `Type` or `Type?query`. */
export function parseSearchCriteria(text: string): CriteriaParse {
  const question = text.indexOf('?');
  const resourceType = question < 0 ? text : text.slice(0, question);
  if (!RESOURCE_TYPE_PATTERN.test(resourceType)) {
    return { ok: false, reason: `'${resourceType}' is not a resource type` };
  }
  if (question < 0) return { ok: true, resourceType, filters: [] };
  const parsed = parseQuery(text.slice(question + 1), resourceType, false);
  return parsed.ok ? { ok: true, resourceType, filters: parsed.filters } : parsed;
}

function parseQuery(query: string, resourceType: string | undefined, dottedNames: boolean): FilterParse {
  const filters: FilterCriterion[] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const equals = piece.indexOf('=');
    if (equals < 0) return { ok: false, reason: `'${piece}' is not name=value` };
    const name = decode(piece.slice(0, equals));
    const value = decode(piece.slice(equals + 1));
    if (name === undefined || value === undefined) return { ok: false, reason: `'${piece}' has a malformed %-escape` };
    if (value === '') return { ok: false, reason: `'${piece}' has no value` };

    let type = resourceType;
    let rest = name;
    const dotted = dottedNames ? DOTTED_NAME.exec(name) : null;
    if (dotted) {
      type = dotted[1];
      rest = dotted[2] ?? rest;
    }

    const colon = rest.indexOf(':');
    const parameter = colon < 0 ? rest : rest.slice(0, colon);
    const modifier = colon < 0 ? undefined : rest.slice(colon + 1);
    if (parameter === '') return { ok: false, reason: `'${piece}' has no parameter name` };
    if (modifier === '') return { ok: false, reason: `'${piece}' has an empty modifier` };

    const filter: FilterCriterion = { parameter, value };
    if (type !== undefined) filter.resourceType = type;
    if (modifier !== undefined) filter.modifier = modifier;
    filters.push(filter);
  }
  return { ok: true, filters };
}

function atLeastOne(parsed: FilterParse): FilterParse {
  if (parsed.ok && parsed.filters.length === 0) return { ok: false, reason: 'the filter has no name=value' };
  return parsed;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
