// quantity matching: `[prefix]number`, `number|system|code` or `number||code` (code or unit). The
// number follows number.ts. Units are compared as written, with no UCUM conversion; a server that
// canonicalises UCUM units could match `5|http://unitsofmeasure.org|g` with 5000 mg, so two
// different UCUM codes are undecidable rather than a miss.
import type { Comparator } from '../../topics/topic.js';
import { decimalOf } from './decimal.js';
import { splitUnescaped, unescapeValue } from './escape.js';
import type { TypedValue } from './engine.js';
import { matchNumber, numberSearch, type NumberSearch } from './number.js';
import { UNDECIDABLE, type Verdict } from './verdict.js';

export interface QuantitySearch {
  readonly number: NumberSearch;
  /** undefined: any system; '': the code may be a code or a unit of any system. */
  readonly system?: string;
  readonly code?: string;
}

const UCUM = 'http://unitsofmeasure.org';
const CURRENCY = 'urn:iso:std:iso:4217';
const QUANTITIES = new Set(['Quantity', 'SimpleQuantity', 'Age', 'Duration', 'Distance', 'Count', 'MoneyQuantity']);

/** One OR item (prefix already removed), escapes in place; undefined when malformed. */
export function quantitySearch(raw: string): QuantitySearch | undefined {
  const parts = splitUnescaped(raw, '|').map(unescapeValue);
  const number = numberSearch(parts[0] ?? '');
  if (!number) return undefined;
  if (parts.length === 1) return { number };
  const [, system, code] = parts;
  if (parts.length !== 3 || system === undefined || !code) return undefined;
  return { number, system, code };
}

interface Amount {
  value?: unknown;
  system?: unknown;
  code?: unknown;
  unit?: unknown;
  comparator?: unknown;
}

function amount(value: TypedValue): Amount | undefined {
  if (typeof value.data !== 'object' || value.data === null) return undefined;
  const data = value.data as Record<string, unknown>;
  if (QUANTITIES.has(value.type)) return data;
  if (value.type === 'Money') return { value: data['value'], system: CURRENCY, code: data['currency'] };
  return undefined;
}

function unitsMatch(q: Amount, search: QuantitySearch): Verdict {
  if (search.code === undefined) return true;
  if (search.system === '') return q.code === search.code || q.unit === search.code;
  if (q.system === search.system && q.code === search.code) return true;
  return q.system === UCUM && search.system === UCUM ? UNDECIDABLE : false;
}

export function matchQuantity(value: TypedValue, search: QuantitySearch, comparator: Comparator): Verdict {
  const q = amount(value);
  // SampledData, Range, ...: servers index them in their own ways, if at all.
  if (!q) return UNDECIDABLE;
  const x = decimalOf(q.value);
  if (x === undefined) return false;
  // `<5 mg` is a range of its own, which servers treat differently.
  if (q.comparator !== undefined) return UNDECIDABLE;
  const units = unitsMatch(q, search);
  // Numbers in different units say nothing about each other.
  return units === true ? matchNumber(x, search.number, comparator) : units;
}
