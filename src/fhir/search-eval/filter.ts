// One filter against the values a parameter selected, per search parameter type.
import type { FhirVersion } from '../../config.js';
import type { Comparator } from '../../topics/topic.js';
import { dateRange } from './date-range.js';
import { matchDate } from './date.js';
import { decimalOf } from './decimal.js';
import { splitUnescaped, unescapeValue } from './escape.js';
import type { Extracted } from './extract.js';
import { matchNumber, numberSearch } from './number.js';
import type { Evaluable } from './parameter.js';
import { splitPrefix } from './prefix.js';
import { matchQuantity, quantitySearch } from './quantity.js';
import { matchIdentifierQuery, matchReferenceQuery, referenceQuery, referenceSide, validTypeModifier, type ReferenceQuery } from './reference.js';
import { matchStrings, type StringMode } from './string.js';
import { matchTokenQuery, tokenQuery, tokenSide, type TokenQuery } from './token.js';
import { matchUri, type UriMode } from './uri.js';
import { UNDECIDABLE, anyOf, negate, unlessUnknown, type FilterSpec, type Verdict } from './verdict.js';

/** Each OR item parsed, or undefined when any of them is malformed (a server would reject the query). */
function parseAll<T>(items: readonly string[], parse: (item: string) => T | undefined): T[] | undefined {
  const out: T[] = [];
  for (const item of items) {
    const parsed = parse(item);
    if (parsed === undefined) return undefined;
    out.push(parsed);
  }
  return out;
}

export function tokenQueries(items: readonly string[]): TokenQuery[] | undefined {
  return parseAll(items, tokenQuery);
}

export function referenceQueries(version: FhirVersion, p: Evaluable, items: readonly string[], modifier?: string): ReferenceQuery[] | undefined {
  if (modifier !== undefined && !validTypeModifier(version, p.def, modifier)) return undefined;
  return parseAll(items, (item) => referenceQuery(version, p.def, item, modifier));
}

function token(ex: Extracted, filter: FilterSpec, items: readonly string[]): Verdict {
  if (filter.modifier !== undefined && filter.modifier !== 'not') return UNDECIDABLE;
  const queries = tokenQueries(items);
  if (!queries) return UNDECIDABLE;
  const side = tokenSide(ex.values);
  const found = unlessUnknown(
    anyOf(queries, (q) => matchTokenQuery(side, q)),
    ex.unknown,
  );
  return filter.modifier === 'not' ? negate(found) : found;
}

const TYPE_MODIFIER = /^[A-Z][A-Za-z]+$/;

function reference(version: FhirVersion, p: Evaluable, ex: Extracted, filter: FilterSpec, items: readonly string[]): Verdict {
  const side = referenceSide(version, ex.values);
  const { modifier } = filter;
  if (modifier === 'identifier') {
    const queries = tokenQueries(items);
    return queries
      ? unlessUnknown(
          anyOf(queries, (q) => matchIdentifierQuery(side, q)),
          ex.unknown,
        )
      : UNDECIDABLE;
  }
  const typeModifier = modifier !== undefined && TYPE_MODIFIER.test(modifier) ? modifier : undefined;
  if (modifier !== undefined && modifier !== 'not' && typeModifier === undefined) return UNDECIDABLE;
  const queries = referenceQueries(version, p, items, typeModifier);
  if (!queries) return UNDECIDABLE;
  const found = unlessUnknown(
    anyOf(queries, (q) => matchReferenceQuery(side, q)),
    ex.unknown,
  );
  return modifier === 'not' ? negate(found) : found;
}

const STRING_MODES: Readonly<Record<string, StringMode>> = { exact: 'exact', contains: 'contains' };
const URI_MODES: Readonly<Record<string, UriMode>> = { below: 'below', above: 'above' };

function string(ex: Extracted, filter: FilterSpec, items: readonly string[]): Verdict {
  const mode = filter.modifier === undefined ? 'starts' : STRING_MODES[filter.modifier];
  if (!mode) return UNDECIDABLE;
  return unlessUnknown(
    anyOf(items, (item) => matchStrings(ex.values, item, mode)),
    ex.unknown,
  );
}

function uri(ex: Extracted, filter: FilterSpec, items: readonly string[]): Verdict {
  const mode = filter.modifier === undefined ? 'exact' : URI_MODES[filter.modifier];
  if (!mode) return UNDECIDABLE;
  return unlessUnknown(
    anyOf(items, (item) => anyOf(ex.values, (v) => matchUri(v, item, mode))),
    ex.unknown,
  );
}

/** number, date and quantity: each OR item may carry its own prefix, or take the filter's comparator. */
function ordered(p: Evaluable, ex: Extracted, filter: FilterSpec, items: readonly string[]): Verdict {
  if (filter.modifier !== undefined) return UNDECIDABLE;
  return unlessUnknown(
    anyOf(items, (item) => {
      const { comparator: own, rest } = splitPrefix(item);
      if (own && filter.comparator) return UNDECIDABLE;
      const comparator: Comparator = own ?? filter.comparator ?? 'eq';
      if (p.def.comparator && !p.def.comparator.includes(comparator)) return UNDECIDABLE;
      return orderedItem(p, ex, rest, comparator);
    }),
    ex.unknown,
  );
}

function orderedItem(p: Evaluable, ex: Extracted, raw: string, comparator: Comparator): Verdict {
  if (p.def.type === 'quantity') {
    const search = quantitySearch(raw);
    return search ? anyOf(ex.values, (v) => matchQuantity(v, search, comparator)) : UNDECIDABLE;
  }
  const text = unescapeValue(raw);
  if (p.def.type === 'date') {
    const search = dateRange(text);
    return search ? anyOf(ex.values, (v) => matchDate(v, search, comparator)) : UNDECIDABLE;
  }
  const search = numberSearch(text);
  if (!search) return UNDECIDABLE;
  return anyOf(ex.values, (v) => {
    const x = decimalOf(v.data);
    // Range and other non-numbers: servers index them in their own ways, if at all.
    return x === undefined ? UNDECIDABLE : matchNumber(x, search, comparator);
  });
}

function missing(version: FhirVersion, p: Evaluable, ex: Extracted, value: string): Verdict {
  if (value !== 'true' && value !== 'false') return UNDECIDABLE;
  let present: Verdict = ex.values.length > 0 ? true : ex.unknown ? UNDECIDABLE : false;
  if (present === true && p.def.type === 'reference') {
    const side = referenceSide(version, ex.values);
    // Only contained, logical or display-only references: whether a server counts those varies.
    if (side.keys.size === 0 && side.canonicals.length === 0 && !side.unsupported) present = UNDECIDABLE;
  }
  return value === 'true' ? negate(present) : present;
}

export function evaluateValues(version: FhirVersion, p: Evaluable, ex: Extracted, filter: FilterSpec): Verdict {
  if (filter.modifier !== undefined && filter.comparator !== undefined) return UNDECIDABLE;
  if (filter.modifier === 'missing') return missing(version, p, ex, filter.value);
  if (filter.comparator !== undefined && !['number', 'date', 'quantity'].includes(p.def.type)) return UNDECIDABLE;
  const items = splitUnescaped(filter.value, ',');
  switch (p.def.type) {
    case 'token':
      return token(ex, filter, items);
    case 'reference':
      return reference(version, p, ex, filter, items);
    case 'string':
      return string(ex, filter, items);
    case 'uri':
      return uri(ex, filter, items);
    case 'number':
    case 'date':
    case 'quantity':
      return ordered(p, ex, filter, items);
    default:
      return UNDECIDABLE;
  }
}
