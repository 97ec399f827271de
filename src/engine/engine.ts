// The shared state + messaging contract every other part of the gateway talks to. Two
// implementations (memory.ts for one process, redis.ts for many replicas) must behave the same,
// so the rest of the gateway never knows which one it runs on; test/engine/engine.test.ts holds
// both to the same tests.
//
// Key naming: every key is stored under the engine's keyPrefix (default `fsg:`). Keys that one
// atomic step touches together (appendNumbered's counterKey and logKey) must share a Redis hash
// tag, e.g. `{sub:abc}:seq` and `{sub:abc}:log`, so Redis Cluster can run the step on one slot.
// Both engines reject a pair that does not, so a mistake shows up in the first test, not in
// production on a Cluster.

export type EngineKind = 'memory' | 'redis';

export interface SetOptions {
  /** Expire the value this many milliseconds from now. Without it the value never expires
   * (and any earlier expiry is removed, as with Redis SET). */
  ttlMs?: number | undefined;
}

export interface AppendItem {
  counterKey: string;
  logKey: string;
  data: string;
}

export interface AppendOptions {
  /** Keep at most this many newest entries per log (>= 1). */
  maxLen: number;
  /** Drop entries older than this, measured on the engine's clock when appending (> 0). */
  maxAgeMs: number;
  /** When given, both the counter and the log expire this long after the latest append. */
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

export interface ChannelOptions {
  /** Use the channel name exactly as given, without keyPrefix: for channels that processes
   * outside the gateway publish to (EVENTS_CHANNEL, when an operator sets it). */
  raw?: boolean | undefined;
}

/** A handler may be async; a rejection is logged like a throw and never reaches other handlers. */
export type MessageHandler = (message: string) => void | Promise<void>;

/** Stops one handler. Idempotent; after it resolves the handler receives nothing more. */
export type Unsubscribe = () => Promise<void>;

export interface Engine {
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

  /**
   * For each item, as one atomic step: seq = ++counter; append (seq, now, data) to the log;
   * trim the log to maxLen newest entries and drop entries older than maxAgeMs; refresh expiry
   * when ttlMs is given. Items are independent steps sent in one round trip (Redis). Resolves to
   * the assigned numbers in item order; numbers start at 1 and never repeat or skip across all
   * processes sharing the engine. counterKey and logKey must share a {hash tag}.
   */
  appendNumbered(items: readonly AppendItem[], options: AppendOptions): Promise<number[]>;
  /** Entries with fromSeq <= seq <= toSeq, ascending; toSeq may be Infinity. */
  logRange(logKey: string, fromSeq: number, toSeq: number, limit?: number): Promise<LogEntry[]>;
  /** Null when the log is empty or gone; otherwise what a caller can still replay. */
  logBounds(logKey: string): Promise<LogBounds | null>;

  // Publish/subscribe. Channels are prefixed with keyPrefix unless { raw: true }. Delivery is
  // asynchronous, in order per channel, and includes this process's own subscribers.
  publish(channel: string, message: string, options?: ChannelOptions): Promise<void>;
  /** Resolves once the subscription is active, so a message published afterwards arrives. */
  subscribe(channel: string, handler: MessageHandler, options?: ChannelOptions): Promise<Unsubscribe>;
}
