// number (and the numeric part of quantity) matching. A search value stands for the range its
// precision implies: `100` is [99.5, 100.5), `100.00` is [99.995, 100.005). The spec's example reads
// `1e2` as [95, 105), one digit finer than its digits say, so both readings are kept and must agree.
// Resource values are taken as exact points.
//
// eq and ne follow the ranges, as the spec defines them. For gt/lt/ge/le/sa/eb the spec compares
// ranges, but many servers compare the plain number (`gt100` finds 100.2); values between the two
// readings are undecidable. ap ("approximately", tolerance left to the server) is decided only for
// the exact value.
import type { Comparator } from '../../topics/topic.js';
import { add, compare, halfUnit, negative, parseDecimal, type Decimal } from './decimal.js';
import { UNDECIDABLE, type Verdict } from './verdict.js';

export interface NumberSearch {
  readonly value: Decimal;
  /** One [low, high) per reading of the precision. */
  readonly ranges: readonly (readonly [Decimal, Decimal])[];
}

export function numberSearch(text: string): NumberSearch | undefined {
  const parsed = parseDecimal(text);
  if (!parsed) return undefined;
  const { value, scientific } = parsed;
  const range = (e: number): readonly [Decimal, Decimal] => [add(value, negative(halfUnit(e))), add(value, halfUnit(e))];
  return { value, ranges: scientific ? [range(value.e), range(value.e - 1)] : [range(value.e)] };
}

function byRange(x: Decimal, [low, high]: readonly [Decimal, Decimal], comparator: Comparator): boolean {
  const inRange = compare(x, low) >= 0 && compare(x, high) < 0;
  switch (comparator) {
    case 'eq':
      return inRange;
    case 'ne':
      return !inRange;
    case 'gt':
    case 'sa':
      return compare(x, high) >= 0;
    case 'lt':
    case 'eb':
      return compare(x, low) < 0;
    case 'ge':
      return compare(x, low) >= 0;
    case 'le':
      return compare(x, high) < 0;
    case 'ap':
      return inRange;
  }
}

function byValue(x: Decimal, v: Decimal, comparator: Comparator): boolean | undefined {
  const c = compare(x, v);
  switch (comparator) {
    case 'gt':
    case 'sa':
      return c > 0;
    case 'lt':
    case 'eb':
      return c < 0;
    case 'ge':
      return c >= 0;
    case 'le':
      return c <= 0;
    default:
      return undefined;
  }
}

export function matchNumber(x: Decimal, search: NumberSearch, comparator: Comparator): Verdict {
  if (comparator === 'ap') return compare(x, search.value) === 0 ? true : UNDECIDABLE;
  const readings = search.ranges.map((r) => byRange(x, r, comparator));
  const plain = byValue(x, search.value, comparator);
  if (plain !== undefined) readings.push(plain);
  return readings.every((r) => r === readings[0]) ? (readings[0] ?? UNDECIDABLE) : UNDECIDABLE;
}
