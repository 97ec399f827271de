// String matching: by default a case- and accent-insensitive starts-with, `:exact` a plain
// equality, `:contains` a case- and accent-insensitive substring, each against every string part of
// a value (a HumanName's text, family, given, prefix, suffix; an Address's text, lines, city, ...).
import { unescapeValue } from './escape.js';
import type { TypedValue } from './engine.js';
import { UNDECIDABLE, anyOf, type Verdict } from './verdict.js';

export type StringMode = 'starts' | 'exact' | 'contains';

const NAME_PARTS = ['text', 'family', 'given', 'prefix', 'suffix'];
const ADDRESS_PARTS = ['text', 'line', 'city', 'district', 'state', 'postalCode', 'country'];
const TEXT_TYPES = new Set(['string', 'markdown', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid']);

/** Removes accents (NFD, then the combining marks) and case, as servers normalise for string search. */
export function normalise(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function parts(data: unknown, names: readonly string[]): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const rec = data as Record<string, unknown>;
  return names.flatMap((n) => {
    const v = rec[n];
    return (Array.isArray(v) ? v : [v]).filter((s): s is string => typeof s === 'string');
  });
}

interface Texts {
  readonly strings: readonly string[];
  /** Came from a HumanName or Address, whose parts servers may also index joined together. */
  readonly structured: boolean;
}

/** undefined for a type string search does not cover. */
function texts(value: TypedValue): Texts | undefined {
  if (value.type === 'HumanName') return { strings: parts(value.data, NAME_PARTS), structured: true };
  if (value.type === 'Address') return { strings: parts(value.data, ADDRESS_PARTS), structured: true };
  if (TEXT_TYPES.has(value.type) && typeof value.data === 'string') return { strings: [value.data], structured: false };
  return undefined;
}

function test(mode: StringMode, text: string, query: string): boolean {
  if (mode === 'exact') return text === query;
  const t = normalise(text);
  const q = normalise(query);
  return mode === 'starts' ? t.startsWith(q) : t.includes(q);
}

/** One OR item, escapes in place, against one value. */
export function matchString(value: TypedValue, raw: string, mode: StringMode): Verdict {
  const query = unescapeValue(raw);
  if (query === '') return UNDECIDABLE;
  const found = texts(value);
  if (!found) return UNDECIDABLE;
  if (found.strings.some((s) => test(mode, s, query))) return true;
  // "john smith" against given + family: some servers index the joined name, others only the parts.
  return found.structured && /\s/.test(query) ? UNDECIDABLE : false;
}

export function matchStrings(values: readonly TypedValue[], raw: string, mode: StringMode): Verdict {
  return anyOf(values, (v) => matchString(v, raw, mode));
}
