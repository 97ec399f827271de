// The shared state + messaging contract every other part of the gateway talks to. Two
// implementations (memory.ts for one process, redis.ts for many replicas) must behave the same,
// so the rest of the gateway never knows which one it runs on; test/engine/engine.test.ts holds
// both to the same tests.
//
// Key naming: every key is stored under the engine's keyPrefix (default `fsg:`). Keys that one
// atomic step touches together (a numbered stream's state, log and id keys) must share a Redis
// hash tag, e.g. `{es:abc}:state` and `{es:abc}:log`, so Redis Cluster can run the step on one slot.
// Both engines reject a pair that does not, so a mistake shows up in the first test, not in
// production on a Cluster.

import type { StreamOps } from './streams.js';

export type { StreamEntry, StreamOps, StreamReadOptions } from './streams.js';

export type EngineKind = 'memory' | 'redis';

export interface SetOptions {
  /** Expire the value this many milliseconds from now. Without it the value never expires
   * (and any earlier expiry is removed, as with Redis SET). */
  ttlMs?: number | undefined;
}

export interface LogEntry {
  seq: number;
  /** Milliseconds since the epoch at which the entry was appended (engine's clock). */
  at: number;
  data: string;
}

/** Lowest and highest sequence numbers still held by a log. */
export interface LogBounds {
  first: number;
  last: number;
}

// Numbered streams: the storage of the event log (src/eventlog/). One stream is a state hash, a
// log and one id key per appended id, all sharing a {hash tag} (checked by both engines).
export interface StreamAppendItem {
  state: string;
  log: string;
  /** Remembers this append's number for maxAgeMs: appending the same id again returns it. */
  idKey: string;
  data: string;
}

export interface StreamAppendOptions {
  /** Keep at most this many newest entries per log (>= 1). Entries are (seq, at, data): see LogEntry. */
  maxLen: number;
  /** Drop entries older than this (engine's clock); also how long an id is remembered. */
  maxAgeMs: number;
}

export interface StreamAppended {
  seq: number;
  /** The stream's membership generation when appended: changes whenever a member joins or leaves. */
  gen: number;
  /** False when the id had been appended already and `seq` is the number it got then. */
  fresh: boolean;
}

/** A member's numbers are seq - base, for the stream's entries with seq > joinSeq. */
export interface StreamMembership {
  base: number;
  joinSeq: number;
}

export interface StreamState {
  /** The stream's last number (0: nothing appended yet, or the stream is unknown). */
  seq: number;
  gen: number;
  /** Per asked member: its membership, its last number if it left, or null if it never joined. */
  members: Array<StreamMembership | { left: number } | null>;
}

export interface ChannelOptions {
  /** Use the channel name exactly as given, without keyPrefix: for channels that processes
   * outside the gateway publish to (EVENTS_CHANNEL, when an operator sets it). */
  raw?: boolean | undefined;
}

/** A handler may be async; a rejection is logged like a throw and never reaches other handlers. */
export type MessageHandler = (message: string) => void | Promise<void>;

/** Stops one handler. Idempotent; after it resolves the handler receives nothing more. */
export type Unsubscribe = () => Promise<void>;

/** Streams (the durable input) are declared in streams.ts. */
export interface Engine extends StreamOps {
  readonly kind: EngineKind;

  /** Connects. Redis: rejects with a clear error when not ready within the connect timeout. */
  start(): Promise<void>;
  /** Releases connections and timers so the process can exit. Operations afterwards fail. */
  close(): Promise<void>;
  /** Started, not closed, and (Redis) both the command and the subscriber connection are up. */
  isReady(): boolean;

  // Values (strings) with optional expiry.
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: SetOptions): Promise<void>;
  /** True when the key existed. */
  del(key: string): Promise<boolean>;
  /** Sets a key's expiry; false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;

  /** SET NX PX: true for the first caller only, until the claim expires. */
  claim(key: string, ttlMs: number): Promise<boolean>;

  // Counters. A counter is a value holding an integer; a missing one reads as 0.
  incr(key: string, by?: number): Promise<number>;
  getCounter(key: string): Promise<number>;

  // Hashes, for registries.
  hset(key: string, field: string, value: string): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  /** True when the field existed. */
  hdel(key: string, field: string): Promise<boolean>;
  hgetall(key: string): Promise<Map<string, string>>;

  /** Entries with fromSeq <= seq <= toSeq, ascending; toSeq may be Infinity. */
  logRange(logKey: string, fromSeq: number, toSeq: number, limit?: number): Promise<LogEntry[]>;
  /** Null when the log is empty or gone; otherwise what a caller can still replay. */
  logBounds(logKey: string): Promise<LogBounds | null>;

  /**
   * For each item, as one atomic step: if idKey holds a number, return it unchanged; else
   * seq = ++state.seq, append (seq, now, data) to the log, remember seq under idKey, trim the log
   * to maxLen and by age (O(1) amortised). Items are independent steps sent in one round trip.
   */
  streamAppend(items: readonly StreamAppendItem[], options: StreamAppendOptions): Promise<StreamAppended[]>;
  /**
   * Atomically makes `member` a member of the stream and returns its membership. Already a
   * member: unchanged. Otherwise its next number is count + 1; count -1 continues from the number
   * it had when it last left this stream (0 if never).
   */
  streamJoin(state: string, member: string, count: number): Promise<StreamMembership>;
  /** Atomically ends a membership; its last number, kept for a later join. Null: never joined. */
  streamLeave(state: string, member: string): Promise<number | null>;
  /** The stream's counter and the memberships of the given members, read at one moment. */
  streamState(state: string, members: readonly string[]): Promise<StreamState>;
  /** Several values in one round trip (any slots), null where absent. */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Compare-and-set: writes value only if the key holds `expected` (null: the key is absent). */
  setIf(key: string, expected: string | null, value: string): Promise<boolean>;

  // Publish/subscribe. Channels are prefixed with keyPrefix unless { raw: true }. Delivery is
  // asynchronous, in order per channel, and includes this process's own subscribers.
  publish(channel: string, message: string, options?: ChannelOptions): Promise<void>;
  /** Resolves once the subscription is active, so a message published afterwards arrives. */
  subscribe(channel: string, handler: MessageHandler, options?: ChannelOptions): Promise<Unsubscribe>;
}
