// date matching by ranges, with the R5 prefix definitions: eq means the value's range lies within
// the query's, gt means the value's range reaches beyond the query's end, sa that it starts after
// the query's end, and so on. A Period is its own range (open when a bound is missing); a Timing
// the span of its events and bounds, its schedule ignored as the spec says. ap ("approximately",
// with a tolerance left to the server) is decided only when the ranges overlap.
import type { Comparator } from '../../topics/topic.js';
import { dateRange, type DateRange } from './date-range.js';
import type { TypedValue } from './engine.js';
import { UNDECIDABLE, type Verdict } from './verdict.js';

const POINT_TYPES = new Set(['date', 'dateTime', 'instant', 'string']);

function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function period(data: unknown): DateRange | undefined {
  const { start, end } = rec(data);
  const from = start === undefined ? { start: -Infinity } : typeof start === 'string' ? dateRange(start) : undefined;
  const to = end === undefined ? { end: Infinity } : typeof end === 'string' ? dateRange(end) : undefined;
  return from && to ? { start: from.start, end: to.end } : undefined;
}

function timing(data: unknown): DateRange | undefined {
  const { event, repeat } = rec(data);
  const r = rec(repeat);
  // A duration or range of repetitions has no calendar position without its anchor.
  if (r['boundsDuration'] !== undefined || r['boundsRange'] !== undefined) return undefined;
  const ranges: (DateRange | undefined)[] = (Array.isArray(event) ? event : []).map((e) => (typeof e === 'string' ? dateRange(e) : undefined));
  if (r['boundsPeriod'] !== undefined) ranges.push(period(r['boundsPeriod']));
  if (ranges.length === 0 || ranges.some((x) => x === undefined)) return undefined;
  const known = ranges as DateRange[];
  return { start: Math.min(...known.map((x) => x.start)), end: Math.max(...known.map((x) => x.end)) };
}

/** The range of a resource value; undefined for one date search cannot place. */
export function valueRange(value: TypedValue): DateRange | undefined {
  if (POINT_TYPES.has(value.type)) return typeof value.data === 'string' ? dateRange(value.data) : undefined;
  if (value.type === 'Period') return period(value.data);
  if (value.type === 'Timing') return timing(value.data);
  return undefined;
}

export function compareRanges(target: DateRange, search: DateRange, comparator: Comparator): Verdict {
  const within = search.start <= target.start && target.end <= search.end;
  switch (comparator) {
    case 'eq':
      return within;
    case 'ne':
      return !within;
    case 'gt':
      return target.end > search.end;
    case 'lt':
      return target.start < search.start;
    case 'ge':
      return within || target.end > search.end;
    case 'le':
      return within || target.start < search.start;
    case 'sa':
      return target.start >= search.end;
    case 'eb':
      return target.end <= search.start;
    case 'ap':
      return target.start < search.end && target.end > search.start ? true : UNDECIDABLE;
  }
}

export function matchDate(value: TypedValue, search: DateRange, comparator: Comparator): Verdict {
  const target = valueRange(value);
  return target ? compareRanges(target, search, comparator) : UNDECIDABLE;
}
