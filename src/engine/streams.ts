// The durable input's contract: an append-only stream read by a consumer group, as Redis Streams
// define it (XADD, XREADGROUP, XACK, XAUTOCLAIM). Both engines implement it with the same
// semantics, so the pipeline's at-least-once handling is tested on memory and holds on Redis.
//
// Guarantees:
// - An entry is delivered to one consumer of a group at a time; it stays pending (on that
//   consumer) until acknowledged. A consumer that dies leaves its entries pending, and
//   streamClaimIdle hands entries idle for longer than minIdleMs to another consumer.
// - Entries are never changed; ids increase (`<ms>-<seq>`, the engine's clock).
// - Trimming (by length on every add, by age on streamTrim) may drop entries nobody has read or
//   acknowledged: the limits must exceed the longest backlog a deployment can have.
// - Stream names are used exactly as given, without keyPrefix: producers outside the gateway
//   name the stream (EVENTS_STREAM).

export interface StreamEntry {
  /** `<ms>-<seq>` */
  id: string;
  fields: Record<string, string>;
}

export interface StreamReadOptions {
  /** At most this many entries (>= 1). */
  count: number;
  /** Wait up to this long for an entry when none is waiting (0: answer at once). */
  blockMs: number;
}

export interface StreamOps {
  /** XADD <stream> MAXLEN ~ maxLen * field value…: resolves to the new entry's id. */
  streamAdd(stream: string, fields: Record<string, string>, maxLen: number): Promise<string>;
  /** Creates the group at the stream's end (and the stream) unless it exists. Idempotent. */
  streamEnsureGroup(stream: string, group: string): Promise<void>;
  /**
   * Entries never delivered to the group, now pending on `consumer`. A group that is gone (a
   * Redis restarted without persistence) is created again, so reading resumes by itself.
   */
  streamRead(stream: string, group: string, consumer: string, options: StreamReadOptions): Promise<StreamEntry[]>;
  /** Acknowledges entries: they leave the pending list. Resolves to how many were pending. */
  streamAck(stream: string, group: string, ids: readonly string[]): Promise<number>;
  /**
   * Moves up to `count` entries pending for longer than minIdleMs (on any consumer, this one
   * included) to `consumer` and returns them. Pending entries that trimming removed are
   * acknowledged here: they can never be processed.
   */
  streamClaimIdle(stream: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]>;
  /** Drops entries older than maxAgeMs (XTRIM MINID ~). Resolves to how many went. */
  streamTrim(stream: string, maxAgeMs: number): Promise<number>;
  /**
   * Calls `listener` each time the engine's connection comes back after it was lost (never on the
   * first connect; never on memory). Returns a function that removes the listener.
   */
  onRecovered(listener: () => void): () => void;
}

/** Why a stream argument is wrong, checked alike by both engines. */
export function checkStreamArgs(stream: string, group?: string, consumer?: string): void {
  if (stream === '') throw new RangeError('stream name must not be empty');
  if (group === '') throw new RangeError('group name must not be empty');
  if (consumer === '') throw new RangeError('consumer name must not be empty');
}

export function checkCount(name: string, n: number, min = 1): void {
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(n)}`);
}
