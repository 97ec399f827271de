// In-process streams with consumer groups, pending lists and reclaim: the memory engine's half
// of StreamOps, with the semantics Redis Streams have (see streams.ts).
import { checkCount, checkStreamArgs, type StreamEntry, type StreamReadOptions } from './streams.js';

interface Pending {
  consumer: string;
  deliveredAt: number;
}

interface Group {
  /** Id of the last entry handed out with '>'. */
  lastDelivered: string;
  pending: Map<string, Pending>;
}

interface Stream {
  entries: StreamEntry[];
  groups: Map<string, Group>;
  lastId: string;
}

/** Negative, zero or positive like a comparator: ids compare by ms, then by sequence. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

export class MemoryStreams {
  private readonly streams = new Map<string, Stream>();
  private waiters = new Set<() => void>();
  private closed = false;

  add(name: string, fields: Record<string, string>, maxLen: number): string {
    checkStreamArgs(name);
    checkCount('maxLen', maxLen);
    const stream = this.stream(name, true)!;
    const now = Date.now();
    const [lastMs, lastSeq] = stream.lastId.split('-').map(Number) as [number, number];
    const id = now > lastMs ? `${now}-0` : `${lastMs}-${lastSeq + 1}`;
    stream.lastId = id;
    stream.entries.push({ id, fields: { ...fields } });
    if (stream.entries.length > maxLen) stream.entries.splice(0, stream.entries.length - maxLen);
    this.wake();
    return id;
  }

  ensureGroup(name: string, group: string): void {
    checkStreamArgs(name, group);
    const stream = this.stream(name, true)!;
    if (!stream.groups.has(group)) stream.groups.set(group, { lastDelivered: stream.lastId, pending: new Map() });
  }

  async read(name: string, group: string, consumer: string, options: StreamReadOptions): Promise<StreamEntry[]> {
    checkStreamArgs(name, group, consumer);
    checkCount('count', options.count);
    checkCount('blockMs', options.blockMs, 0);
    const deadline = Date.now() + options.blockMs;
    for (;;) {
      if (this.closed) throw new Error('engine is closed');
      this.ensureGroup(name, group);
      const stream = this.stream(name)!;
      const g = stream.groups.get(group)!;
      const fresh = stream.entries.filter((e) => compareIds(e.id, g.lastDelivered) > 0).slice(0, options.count);
      if (fresh.length > 0) {
        const now = Date.now();
        for (const e of fresh) g.pending.set(e.id, { consumer, deliveredAt: now });
        g.lastDelivered = fresh[fresh.length - 1]!.id;
        return fresh.map(copy);
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  ack(name: string, group: string, ids: readonly string[]): number {
    checkStreamArgs(name, group);
    const g = this.stream(name)?.groups.get(group);
    if (!g) return 0;
    let n = 0;
    for (const id of ids) if (g.pending.delete(id)) n++;
    return n;
  }

  claimIdle(name: string, group: string, consumer: string, minIdleMs: number, count: number): StreamEntry[] {
    checkStreamArgs(name, group, consumer);
    checkCount('minIdleMs', minIdleMs, 0);
    checkCount('count', count);
    const stream = this.stream(name);
    const g = stream?.groups.get(group);
    if (!stream || !g) return [];
    const now = Date.now();
    const byId = new Map(stream.entries.map((e) => [e.id, e]));
    const out: StreamEntry[] = [];
    for (const [id, p] of [...g.pending].sort(([a], [b]) => compareIds(a, b))) {
      if (out.length >= count) break;
      if (now - p.deliveredAt < minIdleMs) continue;
      const entry = byId.get(id);
      // Trimmed while pending: it can never be processed, so it leaves the list (as XAUTOCLAIM does).
      if (!entry) {
        g.pending.delete(id);
        continue;
      }
      g.pending.set(id, { consumer, deliveredAt: now });
      out.push(copy(entry));
    }
    return out;
  }

  trim(name: string, maxAgeMs: number): number {
    checkStreamArgs(name);
    checkCount('maxAgeMs', maxAgeMs);
    const stream = this.stream(name);
    if (!stream) return 0;
    const cutoff = Date.now() - maxAgeMs;
    let n = 0;
    while (n < stream.entries.length && Number(stream.entries[n]!.id.split('-')[0]) < cutoff) n++;
    stream.entries.splice(0, n);
    return n;
  }

  close(): void {
    this.closed = true;
    this.streams.clear();
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  private stream(name: string, create = false): Stream | undefined {
    let stream = this.streams.get(name);
    if (!stream && create) {
      stream = { entries: [], groups: new Map(), lastId: '0-0' };
      this.streams.set(name, stream);
    }
    return stream;
  }
}

function copy(e: StreamEntry): StreamEntry {
  return { id: e.id, fields: { ...e.fields } };
}
