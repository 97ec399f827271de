// The engine shared by several gateway replicas: one Redis (standalone, Sentinel or Cluster)
// makes them behave as one gateway. Two connections: commands, and a subscriber (a connection in
// subscribe mode cannot run other commands).
import { hostname } from 'node:os';
import { Cluster, type ChainableCommander } from 'ioredis';
import type { Logger } from '../log.js';
import { checkInteger, checkKeyPrefix, checkRange, checkStreamAppend, checkTtl, decodeStreamState, parseMembership, streamStateFields, parseCounter } from './checks.js';
import { deliver, type Target } from './dispatch.js';
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
import { createClient, DEFAULT_COMMAND_TIMEOUT_MS, describeConnection, type RedisClient, type RedisConnection, type Role } from './redis-connect.js';
import { defineLogScripts } from './redis-log.js';
import { decodeLogEntry, defineScripts } from './redis-scripts.js';
import { RedisStreams } from './redis-streams.js';
import type { StreamEntry, StreamReadOptions } from './streams.js';
import { EngineUnavailableError } from './unavailable.js';

export type RedisEngineOptions = RedisConnection & {
  /** Prepended to every key and (non-raw) channel; isolates deployments sharing one Redis.
   * Must not contain braces (they would become every key's Cluster hash tag). */
  keyPrefix?: string | undefined;
  /** How long start() waits for both connections before failing. */
  connectTimeoutMs?: number | undefined;
  /** Shown by CLIENT LIST (the subscriber gets ":sub" appended). */
  connectionName?: string | undefined;
  /** A command Redis has not answered after this long fails as unavailable (default 800). */
  commandTimeoutMs?: number | undefined;
};

interface ChannelState {
  readonly targets: Set<Target>;
  readonly subscribed: Promise<unknown>;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const QUIT_TIMEOUT_MS = 2_000;

export class RedisEngine implements Engine {
  readonly kind = 'redis' as const;

  private readonly cmd: RedisClient;
  private readonly sub: RedisClient;
  private readonly keyPrefix: string;
  private readonly connectTimeoutMs: number;
  private readonly target: string;
  /** Channel name as sent to Redis → local handlers. */
  private readonly channels = new Map<string, ChannelState>();
  private readonly lastError = new Map<Role, Error>();
  private starting: Promise<void> | null = null;
  private closed = false;
  private readonly streams: RedisStreams;
  private readonly recoveredListeners = new Set<() => void>();
  private wasReady = false;

  constructor(
    options: RedisEngineOptions,
    private readonly logger: Logger,
  ) {
    this.keyPrefix = options.keyPrefix ?? 'fsg:';
    checkKeyPrefix(this.keyPrefix);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    checkTtl('connectTimeoutMs', this.connectTimeoutMs);
    this.target = describeConnection(options);
    const names = {
      keyPrefix: this.keyPrefix,
      connectionName: options.connectionName ?? `fsg-${hostname()}-${process.pid}`,
    };
    const timeouts = { ...names, commandTimeoutMs: options.commandTimeoutMs };
    this.cmd = createClient(options, 'command', timeouts);
    this.sub = createClient(options, 'subscriber', timeouts);
    this.streams = new RedisStreams(
      options,
      { connectionName: names.connectionName, commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, connectTimeoutMs: this.connectTimeoutMs },
      logger,
    );
    this.cmd.on('ready', () => {
      if (this.wasReady) for (const listener of this.recoveredListeners) listener();
      this.wasReady = true;
    });
    this.watch(this.cmd, 'command');
    this.watch(this.sub, 'subscriber');
    defineScripts(this.cmd);
    defineLogScripts(this.cmd);
    this.sub.on('message', (channel: string, message: string) => {
      const state = this.channels.get(channel);
      if (state) deliver(state.targets, channel, message, this.logger);
    });
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('engine is closed'));
    this.starting ??= this.connect();
    return this.starting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    this.recoveredListeners.clear();
    await Promise.all([shutdown(this.cmd), shutdown(this.sub), this.streams.close()]);
  }

  isReady(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.sub.status === 'ready' && this.streams.isReady();
  }

  async get(key: string): Promise<string | null> {
    this.checkOpen();
    return this.cmd.get(key);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<void> {
    this.checkOpen();
    if (options.ttlMs === undefined) {
      await this.cmd.set(key, value);
    } else {
      checkTtl('ttlMs', options.ttlMs);
      await this.cmd.set(key, value, 'PX', options.ttlMs);
    }
  }

  async del(key: string): Promise<boolean> {
    this.checkOpen();
    return (await this.cmd.del(key)) > 0;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    checkTtl('ttlMs', ttlMs);
    return (await this.cmd.pexpire(key, ttlMs)) === 1;
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    this.checkOpen();
    checkTtl('ttlMs', ttlMs);
    return (await this.cmd.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async incr(key: string, by = 1): Promise<number> {
    this.checkOpen();
    checkInteger('by', by);
    return this.cmd.incrby(key, by);
  }

  async getCounter(key: string): Promise<number> {
    this.checkOpen();
    return parseCounter(key, await this.cmd.get(key));
  }

  async hset(key: string, field: string, value: string): Promise<void> {
    this.checkOpen();
    await this.cmd.hset(key, field, value);
  }

  async hget(key: string, field: string): Promise<string | null> {
    this.checkOpen();
    return this.cmd.hget(key, field);
  }

  async hdel(key: string, field: string): Promise<boolean> {
    this.checkOpen();
    return (await this.cmd.hdel(key, field)) > 0;
  }

  async hgetall(key: string): Promise<Map<string, string>> {
    this.checkOpen();
    return new Map(Object.entries(await this.cmd.hgetall(key)));
  }

  async logRange(logKey: string, fromSeq: number, toSeq: number, limit?: number): Promise<LogEntry[]> {
    this.checkOpen();
    checkRange(fromSeq, toSeq, limit);
    const max = toSeq === Infinity ? '+inf' : toSeq;
    const members = limit === undefined ? await this.cmd.zrangebyscore(logKey, fromSeq, max) : await this.cmd.zrangebyscore(logKey, fromSeq, max, 'LIMIT', 0, limit);
    return members.map(decodeLogEntry);
  }

  async logBounds(logKey: string): Promise<LogBounds | null> {
    this.checkOpen();
    const [first, last] = await this.cmd.fsgLogBounds(logKey);
    return first !== undefined && last !== undefined ? { first: Number(first), last: Number(last) } : null;
  }

  // Numbered streams (redis-log.ts).

  async streamAppend(items: readonly StreamAppendItem[], options: StreamAppendOptions): Promise<StreamAppended[]> {
    this.checkOpen();
    checkStreamAppend(items, options);
    const replies = await this.many<StreamAppendItem, [string, number, number]>(items, (c, i) => c.fsgStreamAppend(i.state, i.log, i.idKey, i.data, options.maxLen, options.maxAgeMs));
    return replies.map(([seq, gen, fresh]) => ({ seq: Number(seq), gen: Number(gen), fresh: Number(fresh) === 1 }));
  }

  async streamJoin(state: string, member: string, count: number): Promise<StreamMembership> {
    this.checkOpen();
    checkInteger('count', count);
    return parseMembership(await this.cmd.fsgStreamJoin(state, member, count));
  }

  async streamLeave(state: string, member: string): Promise<number | null> {
    this.checkOpen();
    const last = await this.cmd.fsgStreamLeave(state, member);
    return last === null ? null : Number(last);
  }

  async streamState(state: string, members: readonly string[]): Promise<StreamState> {
    this.checkOpen();
    return decodeStreamState(await this.cmd.hmget(state, ...streamStateFields(members)), members.length);
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    this.checkOpen();
    return this.many<string, string | null>(keys, (c, k) => c.get(k));
  }

  async setIf(key: string, expected: string | null, value: string): Promise<boolean> {
    this.checkOpen();
    return (await this.cmd.fsgSetIf(key, expected === null ? '0' : '1', expected ?? '', value)) === 1;
  }

  /** One command per item in one round trip: a pipeline, or on a Cluster (whose pipelines must
   * stay on one node) separate calls written without waiting for replies. Every item runs;
   * the first failure is reported. */
  private async many<T, R>(items: readonly T[], call: (client: RedisClient | ChainableCommander, item: T) => unknown): Promise<R[]> {
    if (items.length === 0) return [];
    const cmd = this.cmd;
    if (cmd instanceof Cluster) return Promise.all(items.map((i) => call(cmd, i) as Promise<R>));
    const pipeline = cmd.pipeline();
    for (const i of items) call(pipeline, i);
    const results = await pipeline.exec();
    if (!results) throw new Error('pipeline was discarded');
    return results.map(([err, value]) => {
      if (err) throw err;
      return value as R;
    });
  }

  async publish(channel: string, message: string, options: ChannelOptions = {}): Promise<void> {
    this.checkOpen();
    const name = this.channelName(channel, options);
    // Cluster: one sending node per channel keeps messages in order (see redis-scripts.ts).
    if (this.cmd instanceof Cluster) await this.cmd.fsgPublishRouted(name, name, message);
    else await this.cmd.publish(name, message);
  }

  async subscribe(channel: string, handler: MessageHandler, options: ChannelOptions = {}): Promise<Unsubscribe> {
    this.checkOpen();
    const name = this.channelName(channel, options);
    const target: Target = { handler };
    let state = this.channels.get(name);
    if (!state) {
      // One SUBSCRIBE per channel however many local handlers; later handlers wait for it too.
      state = { targets: new Set(), subscribed: this.sub.subscribe(name) };
      this.channels.set(name, state);
    }
    const current = state;
    current.targets.add(target);
    try {
      await current.subscribed;
    } catch (err) {
      this.drop(name, current, target);
      throw err;
    }
    let done = false;
    return async () => {
      if (done || this.closed) return;
      done = true;
      // Commands on one connection run in order, so an UNSUBSCRIBE sent here cannot overtake a
      // SUBSCRIBE for the same channel issued after it.
      if (this.drop(name, current, target)) await this.sub.unsubscribe(name);
    };
  }

  // Streams (streams.ts), on connections of their own (redis-streams.ts).
  async streamAdd(stream: string, fields: Record<string, string>, maxLen: number): Promise<string> {
    this.checkOpen();
    return this.streams.add(stream, fields, maxLen);
  }

  async streamEnsureGroup(stream: string, group: string): Promise<void> {
    this.checkOpen();
    return this.streams.ensureGroup(stream, group);
  }

  async streamRead(stream: string, group: string, consumer: string, options: StreamReadOptions): Promise<StreamEntry[]> {
    this.checkOpen();
    return this.streams.read(stream, group, consumer, options);
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

  onRecovered(listener: () => void): () => void {
    this.recoveredListeners.add(listener);
    return () => void this.recoveredListeners.delete(listener);
  }

  /** Removes a handler; true when it was the channel's last, so the channel should go. */
  private drop(name: string, state: ChannelState, target: Target): boolean {
    state.targets.delete(target);
    if (state.targets.size > 0 || this.channels.get(name) !== state) return false;
    this.channels.delete(name);
    return true;
  }

  private async connect(): Promise<void> {
    // Failed attempts surface as 'error' events and ioredis keeps retrying; we only bound how
    // long we wait, so a Redis that comes up a moment after the gateway is still fine.
    for (const client of [this.cmd, this.sub]) client.connect().catch(() => undefined);
    try {
      await Promise.all([this.waitReady(this.cmd, 'command'), this.waitReady(this.sub, 'subscriber')]);
    } catch (err) {
      // Stop the retry loops so a gateway that cannot start can exit.
      this.closed = true;
      this.cmd.disconnect();
      this.sub.disconnect();
      throw err;
    }
  }

  private waitReady(client: RedisClient, role: Role): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('end', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const fail = (why: string): Error => {
        const last = this.lastError.get(role);
        return new Error(`Redis (${this.target}) ${why} (${role} connection)${last ? `: ${last.message}` : ''}`);
      };
      const onReady = (): void => finish();
      const onEnd = (): void => finish(fail('closed the connection before it was ready'));
      const timer = setTimeout(() => finish(fail(`not ready within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      client.once('ready', onReady);
      client.once('end', onEnd);
    });
  }

  private watch(client: RedisClient, role: Role): void {
    // Without an 'error' listener an ioredis error would crash the process.
    client.on('error', (err: Error) => {
      if (this.isNewError(role, err)) {
        this.logger.error({ err, redis: this.target, connection: role }, 'redis connection error');
      }
    });
    if (client instanceof Cluster) {
      // A Cluster reports a failing node separately; it does not crash, but is worth a line.
      client.on('node error', (err: Error, node: string) => {
        if (this.isNewError(role, err)) {
          this.logger.warn({ err, redis: this.target, connection: role, node }, 'redis cluster node error');
        }
      });
    }
    client.on('ready', () => {
      if (this.lastError.delete(role)) this.logger.info({ redis: this.target, connection: role }, 'redis connection ready');
    });
  }

  /** ioredis reports every failed retry; we log each distinct failure once, not per retry. */
  private isNewError(role: Role, err: Error): boolean {
    const previous = this.lastError.get(role);
    this.lastError.set(role, err);
    return previous?.message !== err.message;
  }

  private channelName(channel: string, options: ChannelOptions): string {
    return options.raw ? channel : this.keyPrefix + channel;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('engine is closed');
    // Fail at once rather than after the command timeout: callers answer 503 without waiting.
    if (this.starting && this.cmd.status !== 'ready' && this.cmd.status !== 'wait') throw new EngineUnavailableError(`Redis (${this.target}) is not connected`);
  }
}

async function shutdown(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    // QUIT lets replies in flight arrive; the timeout covers a server that stopped answering.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
    await Promise.race([client.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  if (client.status !== 'end') client.disconnect();
}
