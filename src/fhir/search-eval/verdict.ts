// Three-valued logic for search matching: 'undecidable' means "only the server can say" (its
// semantics differ between implementations, or the data cannot be read in memory), so the caller
// asks the upstream instead of guessing.
import type { Comparator } from '../../topics/topic.js';

export type Verdict = boolean | 'undecidable';

export const UNDECIDABLE = 'undecidable' as const;

export interface FilterSpec {
  resourceType: string;
  parameter: string;
  modifier?: string;
  comparator?: Comparator;
  /** May be a comma-separated OR list, with `\,` `\|` `\$` `\\` escapes. */
  value: string;
}

/** OR: one definite match is enough, whatever the others could not decide. */
export function anyOf<T>(items: Iterable<T>, test: (item: T) => Verdict): Verdict {
  let undecided = false;
  for (const item of items) {
    const v = test(item);
    if (v === true) return true;
    if (v === UNDECIDABLE) undecided = true;
  }
  return undecided ? UNDECIDABLE : false;
}

/** AND: one definite miss is enough. */
export function allOf<T>(items: Iterable<T>, test: (item: T) => Verdict): Verdict {
  let undecided = false;
  for (const item of items) {
    const v = test(item);
    if (v === false) return false;
    if (v === UNDECIDABLE) undecided = true;
  }
  return undecided ? UNDECIDABLE : true;
}

export function negate(v: Verdict): Verdict {
  return v === UNDECIDABLE ? v : !v;
}

/** A definite miss becomes undecidable when some values could not be examined. */
export function unlessUnknown(v: Verdict, unknown: boolean): Verdict {
  return v === false && unknown ? UNDECIDABLE : v;
}
