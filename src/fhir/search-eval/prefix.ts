// Comparator prefixes (`gt2020`, `le5.4|http://unitsofmeasure.org|mg`): only number, date and
// quantity values carry them, and only in front of something numeric, so `ne` in a token or a
// string is never one.
import type { Comparator } from '../../topics/topic.js';
import type { SearchParamType } from '../search-parameters.js';

const PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[-+.\d])/;

export function takesPrefix(type: SearchParamType): boolean {
  return type === 'number' || type === 'date' || type === 'quantity';
}

export function splitPrefix(value: string): { comparator?: Comparator; rest: string } {
  const m = PREFIX.exec(value);
  return m?.[1] ? { comparator: m[1] as Comparator, rest: value.slice(2) } : { rest: value };
}
