// The Redis engine's half of StreamOps (streams.ts): Redis Streams with one consumer group.
// Two connections of its own, opened on first use: one for XADD/XACK/XAUTOCLAIM, one for the
// blocking XREADGROUP (a blocked connection answers nothing else). Neither has the key prefix:
// stream names are chosen by the operator and written to by producers outside the gateway.
import type { Logger } from '../log.js';
import { createClient, type RedisClient, type RedisConnection } from './redis-connect.js';
import { checkCount, checkStreamArgs, type StreamEntry, type StreamReadOptions } from './streams.js';

type RawEntry = [id: string, fields: string[] | null];

export class RedisStreams {
  private writer: RedisClient | undefined;
  private reader: RedisClient | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly names: { connectionName: string; commandTimeoutMs: number; connectTimeoutMs: number },
    private readonly logger: Logger,
  ) {}

  /** Ready, or never used (then nothing of it can be down). */
  isReady(): boolean {
    return !this.writer || (this.writer.status === 'ready' && this.reader!.status === 'ready');
  }

  async add(stream: string, fields: Record<string, string>, maxLen: number): Promise<string> {
    checkStreamArgs(stream);
    checkCount('maxLen', maxLen);
    const { writer } = await this.open();
    const id = await writer.xadd(stream, 'MAXLEN', '~', maxLen, '*', ...Object.entries(fields).flat());
    if (id === null) throw new Error('XADD returned no id');
    return id;
  }

  async ensureGroup(stream: string, group: string): Promise<void> {
    checkStreamArgs(stream, group);
    const { writer } = await this.open();
    try {
      await writer.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  async read(stream: string, group: string, consumer: string, options: StreamReadOptions): Promise<StreamEntry[]> {
    checkStreamArgs(stream, group, consumer);
    checkCount('count', options.count);
    checkCount('blockMs', options.blockMs, 0);
    const { reader } = await this.open();
    const once = (): Promise<unknown> =>
      options.blockMs > 0
        ? reader.xreadgroup('GROUP', group, consumer, 'COUNT', options.count, 'BLOCK', options.blockMs, 'STREAMS', stream, '>')
        : reader.xreadgroup('GROUP', group, consumer, 'COUNT', options.count, 'STREAMS', stream, '>');
    let reply: unknown;
    try {
      reply = await once();
    } catch (err) {
      if (!isNoGroup(err)) throw err;
      // The stream and its group are gone (a Redis restarted without them): start over.
      this.logger.warn({ stream, group }, 'the events stream or its consumer group was missing; created again');
      await this.ensureGroup(stream, group);
      reply = await once();
    }
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const [, entries] = reply[0] as [string, RawEntry[]];
    return decode(entries);
  }

  async ack(stream: string, group: string, ids: readonly string[]): Promise<number> {
    checkStreamArgs(stream, group);
    if (ids.length === 0) return 0;
    const { writer } = await this.open();
    return writer.xack(stream, group, ...ids);
  }

  async claimIdle(stream: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    checkStreamArgs(stream, group, consumer);
    checkCount('minIdleMs', minIdleMs, 0);
    checkCount('count', count);
    const { writer } = await this.open();
    const out: StreamEntry[] = [];
    let cursor = '0-0';
    // XAUTOCLAIM walks the pending list in pages; entries trimmed away are dropped from it by Redis.
    do {
      let reply: unknown;
      try {
        reply = await writer.xautoclaim(stream, group, consumer, minIdleMs, cursor, 'COUNT', count - out.length);
      } catch (err) {
        if (isNoGroup(err)) return out;
        throw err;
      }
      const [next, entries] = reply as [string, RawEntry[]];
      out.push(...decode(entries));
      cursor = next;
    } while (cursor !== '0-0' && out.length < count);
    return out;
  }

  async trim(stream: string, maxAgeMs: number): Promise<number> {
    checkStreamArgs(stream);
    checkCount('maxAgeMs', maxAgeMs);
    const { writer } = await this.open();
    // The cutoff on Redis' clock, the clock that made the ids.
    const [seconds, micros] = await writer.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return writer.xtrim(stream, 'MINID', '~', String(nowMs - maxAgeMs));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of [this.writer, this.reader]) if (client) client.disconnect();
  }

  private async open(): Promise<{ writer: RedisClient; reader: RedisClient }> {
    if (this.closed) throw new Error('engine is closed');
    if (!this.writer) {
      const name = this.names.connectionName;
      this.writer = createClient(this.connection, 'streams', { keyPrefix: '', connectionName: name, commandTimeoutMs: this.names.commandTimeoutMs });
      // A blocked read may last its BLOCK time; the timeout is for a Redis that stopped answering.
      this.reader = createClient(this.connection, 'stream-reader', { keyPrefix: '', connectionName: name, commandTimeoutMs: this.names.commandTimeoutMs + MAX_BLOCK_MS });
      for (const client of [this.writer, this.reader]) {
        client.on('error', (err: Error) => this.logger.debug({ err }, 'redis stream connection error'));
      }
      this.connecting = Promise.all([this.writer, this.reader].map((c) => c.connect().catch(() => undefined))).then(() => undefined);
    }
    const writer = this.writer;
    const reader = this.reader!;
    if (writer.status !== 'ready' || reader.status !== 'ready') {
      await Promise.race([this.connecting, new Promise((r) => setTimeout(r, this.names.connectTimeoutMs))]);
    }
    return { writer, reader };
  }
}

/** The longest BLOCK the pipeline asks for; the reader's command timeout allows for it. */
export const MAX_BLOCK_MS = 5000;

function isNoGroup(err: unknown): boolean {
  return String((err as Error)?.message).startsWith('NOGROUP');
}

function decode(entries: readonly RawEntry[]): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [id, flat] of entries) {
    if (!flat) continue;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    out.push({ id, fields });
  }
  return out;
}
