// A search query string (`status:not=finished&subject=Patient/1`) into filters. Topic criteria
// need not be URL-encoded, so both forms are read: each name and value is percent-decoded once,
// and `+` stays a plus (an unencoded timezone such as `+01:00` is far more common here than a
// form-encoded space).
import type { FhirVersion } from '../../config.js';
import { searchParameter } from '../search-parameters.js';
import { splitUnescaped } from './escape.js';
import { splitPrefix, takesPrefix } from './prefix.js';
import type { FilterSpec } from './verdict.js';

export class QueryInvalid extends Error {
  override readonly name = 'QueryInvalid';
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new QueryInvalid(`${what} '${text}' is not valid percent-encoding`);
  }
}

/** Drops a leading `?` or `Type?` (which must name the resource type), keeping a `?` inside a value. */
function stripPrefix(resourceType: string, query: string): string {
  const question = query.indexOf('?');
  const equals = query.indexOf('=');
  if (question < 0 || (equals >= 0 && equals < question)) return query;
  const named = decode(query.slice(0, question), 'resource type');
  if (named !== '' && named !== resourceType) {
    throw new QueryInvalid(`the query is for ${named}, not ${resourceType}`);
  }
  return query.slice(question + 1);
}

function filterOf(version: FhirVersion, resourceType: string, piece: string): FilterSpec | undefined {
  const equals = piece.indexOf('=');
  if (equals < 0) throw new QueryInvalid(`'${piece}' has no '='`);
  const name = decode(piece.slice(0, equals), 'parameter name');
  const value = decode(piece.slice(equals + 1), 'value');
  const colon = name.indexOf(':');
  const parameter = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (parameter === '') throw new QueryInvalid(`'${piece}' has no parameter name`);
  if (modifier === '') throw new QueryInvalid(`'${piece}' has an empty modifier`);
  if (/\s/.test(name)) throw new QueryInvalid(`'${name}' is not a parameter name`);
  // Servers ignore a parameter given no value.
  if (value === '') return undefined;
  const filter: FilterSpec = { resourceType, parameter, value };
  if (modifier !== undefined) filter.modifier = modifier;
  const def = searchParameter(version, resourceType, parameter);
  // Each item of an OR list has its own prefix (`gt5,lt2`); evaluation reads those in place.
  if (def && takesPrefix(def.type) && modifier === undefined && splitUnescaped(value, ',').length === 1) {
    const { comparator, rest } = splitPrefix(value);
    if (comparator) {
      filter.comparator = comparator;
      filter.value = rest;
    }
  }
  return filter;
}

/** Throws QueryInvalid for text that is not a query string for `resourceType`. */
export function parseQuery(version: FhirVersion, resourceType: string, query: string): FilterSpec[] {
  const body = stripPrefix(resourceType, query.trim());
  const filters: FilterSpec[] = [];
  for (const piece of body.split('&')) {
    if (piece === '') continue;
    const filter = filterOf(version, resourceType, piece);
    if (filter) filters.push(filter);
  }
  return filters;
}
