// The engine for a single gateway process (no REDIS_URL). It mirrors the Redis engine's
// semantics, including its error cases, so code tested on memory behaves the same on Redis.
import type { Logger } from '../log.js';
import { checkInteger, checkKeyPrefix, checkRange, checkStreamAppend, checkTtl, decodeStreamState, parseMembership, streamStateFields, parseCounter } from './checks.js';
import { deliver, type Target } from './dispatch.js';
import { MemoryStreams } from './memory-streams.js';
import type { StreamEntry, StreamReadOptions } from './streams.js';
import type {
  ChannelOptions,
  Engine,
  LogBounds,
  LogEntry,
  MessageHandler,
  SetOptions,
  StreamAppended,
  StreamMembership,
  StreamState,
  StreamAppendItem,
  StreamAppendOptions,
  Unsubscribe,
} from './engine.js';

export interface MemoryEngineOptions {
  /** Used for channel names only, so prefixed and raw channels stay apart as they do on Redis. */
  keyPrefix?: string | undefined;
  /** How often expired keys nobody reads are reclaimed. */
  sweepIntervalMs?: number | undefined;
}

type Stored =
  { type: 'string'; value: string; expiresAt: number | null } | { type: 'hash'; value: Map<string, string>; expiresAt: number | null } | { type: 'log'; value: LogEntry[]; expiresAt: number | null };

interface MemoryTarget extends Target {
  active: boolean;
}

interface Pending {
  channel: string;
  message: string;
  targets: MemoryTarget[];
}

const DEFAULT_SWEEP_MS = 1000;

function wrongType(key: string): Error {
  return new Error(`WRONGTYPE ${JSON.stringify(key)} holds the wrong kind of value`);
}

/** Index of the first entry with seq >= target (entries are ascending by seq). */
function lowerBound(entries: readonly LogEntry[], target: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;

  private readonly data = new Map<string, Stored>();
  /** Keys with an expiry, so the sweep does not walk every key. */
  private readonly expiring = new Set<string>();
  private readonly channels = new Map<string, Set<MemoryTarget>>();
  private readonly keyPrefix: string;
  private readonly sweepIntervalMs: number;
  private queue: Pending[] = [];
  private drainHandle: NodeJS.Immediate | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private started = false;
  private closed = false;
  private readonly streams = new MemoryStreams();

  constructor(
    private readonly logger: Logger,
    options: MemoryEngineOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'fsg:';
    checkKeyPrefix(this.keyPrefix);
    this.sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_MS;
    checkTtl('sweepIntervalMs', this.sweepIntervalMs);
  }

  async start(): Promise<void> {
    this.checkOpen();
    if (this.started) return;
    this.started = true;
    // unref: an idle sweep must never be what keeps the process alive.
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs).unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.drainHandle) clearImmediate(this.drainHandle);
    this.sweepTimer = null;
    this.drainHandle = null;
    this.queue = [];
    this.streams.close();
    for (const targets of this.channels.values()) for (const t of targets) t.active = false;
    this.channels.clear();
    this.data.clear();
    this.expiring.clear();
  }

  isReady(): boolean {
    return this.started && !this.closed;
  }

  async get(key: string): Promise<string | null> {
    this.checkOpen();
    return this.readString(key)?.value ?? null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<void> {
    this.checkOpen();
    if (options.ttlMs !== undefined) checkTtl('ttlMs', options.ttlMs);
    this.write(key, { type: 'string', value, expiresAt: null }, options.ttlMs);
  }

  async del(key: string): Promise<boolean> {
    this.checkOpen();
    const existed = this.read(key) !== undefined;
    this.remove(key);
    return existed;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    checkTtl('ttlMs', ttlMs);
    const entry = this.read(key);
    if (!entry) return false;
    this.setExpiry(key, entry, ttlMs);
    return true;
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    checkTtl('ttlMs', ttlMs);
    if (this.read(key)) return false;
    this.write(key, { type: 'string', value: '1', expiresAt: null }, ttlMs);
    return true;
  }

  async incr(key: string, by = 1): Promise<number> {
    this.checkOpen();
    checkInteger('by', by);
    return this.increment(key, by);
  }

  async getCounter(key: string): Promise<number> {
    this.checkOpen();
    return parseCounter(key, this.readString(key)?.value ?? null);
  }

  async hset(key: string, field: string, value: string): Promise<void> {
    this.checkOpen();
    const entry = this.read(key);
    if (entry && entry.type !== 'hash') throw wrongType(key);
    if (entry) entry.value.set(field, value);
    else this.data.set(key, { type: 'hash', value: new Map([[field, value]]), expiresAt: null });
  }

  async hget(key: string, field: string): Promise<string | null> {
    this.checkOpen();
    return this.readHash(key)?.get(field) ?? null;
  }

  async hdel(key: string, field: string): Promise<boolean> {
    this.checkOpen();
    const hash = this.readHash(key);
    if (!hash) return false;
    const existed = hash.delete(field);
    // Redis drops a hash with its last field; mirror it so the key reads as absent in both.
    if (hash.size === 0) this.remove(key);
    return existed;
  }

  async hgetall(key: string): Promise<Map<string, string>> {
    this.checkOpen();
    return new Map(this.readHash(key) ?? []);
  }

  async logRange(logKey: string, fromSeq: number, toSeq: number, limit?: number): Promise<LogEntry[]> {
    this.checkOpen();
    checkRange(fromSeq, toSeq, limit);
    const entries = this.readLog(logKey);
    if (!entries) return [];
    const out: LogEntry[] = [];
    for (let i = lowerBound(entries, fromSeq); i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.seq > toSeq || (limit !== undefined && out.length >= limit)) break;
      out.push({ ...entry });
    }
    return out;
  }

  async logBounds(logKey: string): Promise<LogBounds | null> {
    this.checkOpen();
    const entries = this.readLog(logKey);
    const first = entries?.[0];
    const last = entries?.[entries.length - 1];
    return first && last ? { first: first.seq, last: last.seq } : null;
  }

  // Numbered streams: the twin of redis-log.ts, step for step.

  async streamAppend(items: readonly StreamAppendItem[], options: StreamAppendOptions): Promise<StreamAppended[]> {
    this.checkOpen();
    checkStreamAppend(items, options);
    const out: StreamAppended[] = [];
    let failure: Error | undefined;
    for (const item of items) {
      try {
        out.push(this.streamAppendOne(item, options));
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (failure) throw failure;
    return out;
  }

  async streamJoin(state: string, member: string, count: number): Promise<StreamMembership> {
    this.checkOpen();
    checkInteger('count', count);
    const hash = this.hashFor(state);
    const existing = hash.get(`m:${member}`);
    if (existing !== undefined) return parseMembership(existing);
    const from = count < 0 ? Number(hash.get(`l:${member}`) ?? 0) : count;
    const seq = Number(hash.get('seq') ?? 0);
    hash.set(`m:${member}`, `${seq - from},${seq}`);
    hash.delete(`l:${member}`);
    hash.set('gen', String(Number(hash.get('gen') ?? 0) + 1));
    return { base: seq - from, joinSeq: seq };
  }

  async streamLeave(state: string, member: string): Promise<number | null> {
    this.checkOpen();
    const hash = this.readHash(state);
    const base = hash?.get(`m:${member}`);
    if (!hash || base === undefined) {
      const last = hash?.get(`l:${member}`);
      return last === undefined ? null : Number(last);
    }
    const last = Number(hash.get('seq') ?? 0) - parseMembership(base).base;
    hash.delete(`m:${member}`);
    hash.set(`l:${member}`, String(last));
    hash.set('gen', String(Number(hash.get('gen') ?? 0) + 1));
    return last;
  }

  async streamState(state: string, members: readonly string[]): Promise<StreamState> {
    this.checkOpen();
    const hash = this.readHash(state);
    return decodeStreamState(
      streamStateFields(members).map((f) => hash?.get(f) ?? null),
      members.length,
    );
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.checkOpen();
    return keys.map((k) => this.readString(k)?.value ?? null);
  }

  async setIf(key: string, expected: string | null, value: string): Promise<boolean> {
    this.checkOpen();
    const current = this.readString(key)?.value ?? null;
    if (current !== expected) return false;
    this.write(key, { type: 'string', value, expiresAt: null }, undefined);
    return true;
  }

  private streamAppendOne(item: StreamAppendItem, options: StreamAppendOptions): StreamAppended {
    // Check every key before changing any, so a failing item leaves no trace.
    const hash = this.readHash(item.state);
    const log = this.readLog(item.log);
    const known = this.readString(item.idKey);
    const gen = Number(hash?.get('gen') ?? 0);
    if (known) return { seq: Number(known.value), gen, fresh: false };
    const state = hash ?? this.hashFor(item.state);
    const seq = Number(state.get('seq') ?? 0) + 1;
    state.set('seq', String(seq));
    const at = Date.now();
    let entries = log;
    if (!entries) {
      entries = [];
      this.data.set(item.log, { type: 'log', value: entries, expiresAt: null });
    }
    entries.push({ seq, at, data: item.data });
    this.write(item.idKey, { type: 'string', value: String(seq), expiresAt: null }, options.maxAgeMs);
    if (entries.length > options.maxLen) entries.splice(0, entries.length - options.maxLen);
    const cutoff = at - options.maxAgeMs;
    let old = 0;
    while (old < entries.length && entries[old]!.at < cutoff) old++;
    if (old > 0) entries.splice(0, old);
    this.setExpiry(item.log, this.data.get(item.log)!, options.maxAgeMs);
    return { seq, gen, fresh: true };
  }

  /** The hash at key, created empty when absent. */
  private hashFor(key: string): Map<string, string> {
    const existing = this.readHash(key);
    if (existing) return existing;
    const value = new Map<string, string>();
    this.data.set(key, { type: 'hash', value, expiresAt: null });
    return value;
  }

  async publish(channel: string, message: string, options: ChannelOptions = {}): Promise<void> {
    this.checkOpen();
    const name = this.channelName(channel, options);
    const targets = this.channels.get(name);
    if (!targets || targets.size === 0) return;
    // Snapshot who is subscribed now, as Redis decides receivers when PUBLISH runs.
    this.queue.push({ channel: name, message, targets: [...targets] });
    // setImmediate, not a microtask: like a network round trip, delivery happens after the
    // publisher's own continuation, and one FIFO queue keeps per-channel order.
    this.drainHandle ??= setImmediate(() => this.drain());
  }

  async subscribe(channel: string, handler: MessageHandler, options: ChannelOptions = {}): Promise<Unsubscribe> {
    this.checkOpen();
    const name = this.channelName(channel, options);
    const target: MemoryTarget = { handler, active: true };
    let targets = this.channels.get(name);
    if (!targets) {
      targets = new Set();
      this.channels.set(name, targets);
    }
    targets.add(target);
    const set = targets;
    return async () => {
      target.active = false;
      set.delete(target);
      if (set.size === 0 && this.channels.get(name) === set) this.channels.delete(name);
    };
  }

  // Streams (streams.ts): in-process, with the same pending/ack/reclaim semantics as Redis.
  async streamAdd(stream: string, fields: Record<string, string>, maxLen: number): Promise<string> {
    this.checkOpen();
    return this.streams.add(stream, fields, maxLen);
  }

  async streamEnsureGroup(stream: string, group: string): Promise<void> {
    this.checkOpen();
    this.streams.ensureGroup(stream, group);
  }

  async streamRead(stream: string, group: string, consumer: string, options: StreamReadOptions): Promise<StreamEntry[]> {
    this.checkOpen();
    return await this.streams.read(stream, group, consumer, options);
  }

  async streamAck(stream: string, group: string, ids: readonly string[]): Promise<number> {
    this.checkOpen();
    return this.streams.ack(stream, group, ids);
  }

  async streamClaimIdle(stream: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    this.checkOpen();
    return this.streams.claimIdle(stream, group, consumer, minIdleMs, count);
  }

  async streamTrim(stream: string, maxAgeMs: number): Promise<number> {
    this.checkOpen();
    return this.streams.trim(stream, maxAgeMs);
  }

  /** One process never loses its memory: there is nothing to recover from. */
  onRecovered(_listener: () => void): () => void {
    return () => undefined;
  }

  private drain(): void {
    this.drainHandle = null;
    const batch = this.queue;
    this.queue = [];
    // Messages published by handlers during this loop wait for the next turn, so a handler
    // that publishes to its own channel cannot starve the event loop.
    for (const pending of batch) {
      if (this.closed) return;
      deliver(
        pending.targets.filter((t) => t.active),
        pending.channel,
        pending.message,
        this.logger,
      );
    }
  }

  private increment(key: string, by: number): number {
    const entry = this.readString(key);
    const next = parseCounter(key, entry?.value ?? null) + by;
    if (!Number.isSafeInteger(next)) throw new RangeError(`counter ${JSON.stringify(key)} would overflow`);
    // INCR keeps an existing expiry.
    if (entry) entry.value = String(next);
    else this.data.set(key, { type: 'string', value: String(next), expiresAt: null });
    return next;
  }

  private channelName(channel: string, options: ChannelOptions): string {
    return options.raw ? channel : this.keyPrefix + channel;
  }

  private read(key: string): Stored | undefined {
    const entry = this.data.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  private readString(key: string): Extract<Stored, { type: 'string' }> | undefined {
    const entry = this.read(key);
    if (entry && entry.type !== 'string') throw wrongType(key);
    return entry;
  }

  private readHash(key: string): Map<string, string> | undefined {
    const entry = this.read(key);
    if (entry && entry.type !== 'hash') throw wrongType(key);
    return entry?.value;
  }

  private readLog(key: string): LogEntry[] | undefined {
    const entry = this.read(key);
    if (entry && entry.type !== 'log') throw wrongType(key);
    return entry?.value;
  }

  private write(key: string, entry: Stored, ttlMs: number | undefined): void {
    this.data.set(key, entry);
    if (ttlMs === undefined) this.expiring.delete(key);
    else this.setExpiry(key, entry, ttlMs);
  }

  private setExpiry(key: string, entry: Stored, ttlMs: number): void {
    entry.expiresAt = Date.now() + ttlMs;
    this.expiring.add(key);
  }

  private remove(key: string): void {
    this.data.delete(key);
    this.expiring.delete(key);
  }

  private sweep(): void {
    const now = Date.now();
    for (const key of this.expiring) {
      const entry = this.data.get(key);
      if (!entry || entry.expiresAt === null) this.expiring.delete(key);
      else if (entry.expiresAt <= now) this.remove(key);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('engine is closed');
  }
}
