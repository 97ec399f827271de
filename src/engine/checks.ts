// Argument checks shared by both engines, so a bad call fails the same way (and early) on memory
// as on Redis instead of passing in development and failing against a Cluster.
import type { StreamAppendItem, StreamAppendOptions, StreamMembership, StreamState } from './engine.js';

/** Redis rejects PX 0, negatives and fractions; so do we, everywhere. */
export function checkTtl(name: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new RangeError(`${name} must be a positive integer number of milliseconds, got ${String(ms)}`);
  }
}

export function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${String(value)}`);
}

/** The part of a key Redis Cluster hashes: the first non-empty {…} section, else the whole key. */
export function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open === -1) return null;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return null;
  return key.slice(open + 1, close);
}

export function checkRange(fromSeq: number, toSeq: number, limit: number | undefined): void {
  checkInteger('fromSeq', fromSeq);
  if (toSeq !== Infinity) checkInteger('toSeq', toSeq);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new RangeError(`limit must be an integer >= 1, got ${String(limit)}`);
  }
}

/** A brace in the prefix would become the hash tag of every key and put them all on one slot. */
export function checkKeyPrefix(prefix: string): void {
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new Error(`keyPrefix must not contain '{' or '}' (it would override every key's hash tag): ${prefix}`);
  }
}

/** Counters are stored as decimal strings (as Redis does); anything else is a caller's bug. */
export function parseCounter(key: string, value: string | null): number {
  if (value === null) return 0;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new Error(`value at ${JSON.stringify(key)} is not an integer counter`);
  }
  return n;
}

export function checkStreamAppend(items: readonly StreamAppendItem[], options: StreamAppendOptions): void {
  if (!Number.isSafeInteger(options.maxLen) || options.maxLen < 1) {
    throw new RangeError(`maxLen must be an integer >= 1, got ${String(options.maxLen)}`);
  }
  checkTtl('maxAgeMs', options.maxAgeMs);
  for (const { state, log, idKey } of items) {
    const tag = hashTag(state);
    if (tag === null || tag !== hashTag(log) || tag !== hashTag(idKey)) {
      throw new Error(`streamAppend keys must share a {hash tag}: ${JSON.stringify(state)}, ${JSON.stringify(log)}, ${JSON.stringify(idKey)}`);
    }
  }
}

/** Reads a stored membership ("<base>,<joinSeq>", as streamJoin writes it). */
export function parseMembership(value: string): StreamMembership {
  const [base, joinSeq] = value.split(',').map(Number);
  if (!Number.isSafeInteger(base) || !Number.isSafeInteger(joinSeq)) throw new Error(`not a stream membership: ${JSON.stringify(value)}`);
  return { base: base!, joinSeq: joinSeq! };
}

/** The fields streamState reads, and what it makes of them: both engines share the layout. */
export const streamStateFields = (members: readonly string[]): string[] => ['seq', 'gen', ...members.flatMap((m) => [`m:${m}`, `l:${m}`])];

export function decodeStreamState(values: ReadonlyArray<string | null>, count: number): StreamState {
  const members: StreamState['members'] = [];
  for (let i = 0; i < count; i++) {
    const m = values[2 + 2 * i];
    const l = values[3 + 2 * i];
    members.push(m ? parseMembership(m) : l ? { left: Number(l) } : null);
  }
  return { seq: Number(values[0] ?? 0), gen: Number(values[1] ?? 0), members };
}
