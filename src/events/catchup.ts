import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SERVICE, type Bundle, type UpstreamClient } from '../upstream/fhir-client.js';
import { FINAL_OUTCOMES, type Outcome } from './pipeline.js';

export interface CatchUpOptions {
  engine: Engine;
  client: UpstreamClient;
  /** CATCHUP_INTERVAL_MS (> 0). */
  intervalMs: number;
  /** The resource types some active subscription's topics use, read at each round. */
  types(): string[];
  submit(message: string): Promise<Outcome>;
  logger: Logger;
  metrics: Metrics;
}

/** Per resource type, the newest change time (the upstream's clock) a round has fed. */
const SINCE_KEY = 'catchup:since';
/** Held by the replica running a round, so one round at a time runs across the deployment. */
const LEASE_KEY = 'catchup:lease';
/** Each round re-reads this much before the last point seen: a change stamped a little earlier
 * than one already seen (clocks, transactions committing late) is not skipped. Re-read changes
 * are duplicates the claims recognise. */
const OVERLAP_MS = 5000;
const PAGE_SIZE = 100;
/** At most this many pages per type and round; a longer backlog is logged, newest changes first. */
const MAX_PAGES = 50;

type HistoryEntry = NonNullable<Bundle['entry']>[number];

/**
 * Catch-up from the upstream's own history: a write no producer reported (made directly at the
 * upstream, or while the event store was away) still becomes an event. After start, after the
 * engine recovers, and every intervalMs, one replica (the lease holder) reads
 * `[type]/_history?_since=` for the types in use and feeds every change through the pipeline;
 * what was already reported is a duplicate there. The last point seen lives in the engine, so the
 * replicas share it; it only advances once every change up to it was handled.
 */
export class CatchUp {
  private timer: NodeJS.Timeout | undefined;
  private stopRecovered: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Types whose history could not be read, each said once until it works again. */
  private readonly unusable = new Set<string>();

  constructor(private readonly opts: CatchUpOptions) {}

  async start(): Promise<void> {
    await this.checkCapability();
    this.timer = setInterval(() => void this.round(), this.opts.intervalMs);
    this.timer.unref();
    this.stopRecovered = this.opts.engine.onRecovered(() => void this.round());
    void this.round();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.stopRecovered?.();
    await this.running;
  }

  /** One round if no other is running here and this replica gets the lease. Never rejects. */
  round(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.running ??= this.runRound().finally(() => (this.running = undefined));
    return this.running;
  }

  private async runRound(): Promise<void> {
    const { engine, metrics, logger } = this.opts;
    try {
      const leaseMs = Math.max(1000, Math.floor(this.opts.intervalMs * 0.9));
      if (!(await engine.claim(LEASE_KEY, leaseMs))) {
        metrics.catchupRounds.inc({ result: 'other-replica' });
        return;
      }
      let complete = true;
      for (const type of this.opts.types()) {
        if (this.closed) return;
        complete = (await this.catchUpType(type)) && complete;
      }
      metrics.catchupRounds.inc({ result: complete ? 'ok' : 'partial' });
    } catch (err) {
      metrics.catchupRounds.inc({ result: 'error' });
      logger.warn({ err }, 'catch-up round failed; next round in the interval');
    }
  }

  /** False when the type could not be caught up this round (it is tried again next round). */
  private async catchUpType(type: string): Promise<boolean> {
    const { engine, client, logger } = this.opts;
    const stored = await engine.hget(SINCE_KEY, type);
    if (stored === null) {
      // First time for this type: start from the upstream's now; earlier changes predate us.
      const start = await this.upstreamNow(type);
      if (start !== undefined) await engine.hset(SINCE_KEY, type, start);
      return start !== undefined;
    }
    const since = new Date(Date.parse(stored) - OVERLAP_MS).toISOString();
    const entries: HistoryEntry[] = [];
    let pages = 0;
    try {
      for await (const { bundle } of client.pages(`${type}/_history?_since=${encodeURIComponent(since)}&_count=${PAGE_SIZE}`, SERVICE, MAX_PAGES)) {
        pages++;
        entries.push(...(bundle.entry ?? []));
      }
    } catch (err) {
      this.sayUnusable(type, err);
      return false;
    }
    if (this.unusable.delete(type)) logger.info({ type }, "the upstream's history can be read again; catching up");
    if (pages >= MAX_PAGES) logger.warn({ type, since, read: entries.length }, 'more changes since the last catch-up than one round reads; the oldest of them were not caught up');

    const events = entries.map((e) => toEvent(type, e)).filter((e): e is WireEvent => e !== undefined);
    // History is newest first; the pipeline keeps per-resource order, so feed oldest first.
    events.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    this.opts.metrics.catchupEvents.inc(events.length);
    const outcomes = await Promise.all(events.map((e) => this.opts.submit(JSON.stringify(e))));
    if (!outcomes.every((o) => FINAL_OUTCOMES.has(o) || o === 'busy')) return false;
    const newest = events.reduce((max, e) => Math.max(max, Date.parse(e.timestamp)), Date.parse(stored));
    if (newest > Date.parse(stored)) await engine.hset(SINCE_KEY, type, new Date(newest).toISOString());
    return true;
  }

  /** The upstream's clock, from the Date of a one-entry history read (also a probe that it works). */
  private async upstreamNow(type: string): Promise<string | undefined> {
    try {
      for await (const { headers } of this.opts.client.pages(`${type}/_history?_count=1`, SERVICE, 1)) {
        const date = Date.parse(String(headers.date ?? ''));
        return new Date(Number.isNaN(date) ? Date.now() : date).toISOString();
      }
    } catch (err) {
      this.sayUnusable(type, err);
    }
    return undefined;
  }

  private sayUnusable(type: string, err: unknown): void {
    if (this.unusable.has(type)) return;
    this.unusable.add(type);
    this.opts.logger.warn({ type, err: (err as Error).message }, "the upstream's _history for this type cannot be read: changes no producer reports are not caught up for it");
  }

  /** Says once, at start, when the CapabilityStatement declares no type-level history at all. */
  private async checkCapability(): Promise<void> {
    try {
      const res = await this.opts.client.request('GET', 'metadata', SERVICE);
      const rest = (res.body as { rest?: { resource?: { type?: string; interaction?: { code?: string }[] }[] }[] } | undefined)?.rest;
      const resources = rest?.flatMap((r) => r.resource ?? []) ?? [];
      const withHistory = resources.filter((r) => r.interaction?.some((i) => i.code === 'history-type'));
      if (res.status !== 200 || resources.length === 0) {
        this.opts.logger.warn({ status: res.status }, "the upstream's CapabilityStatement does not say which resources have history; the catch-up will try _history and report what fails");
      } else if (withHistory.length === 0) {
        this.opts.logger.warn('the upstream declares no type-level _history: the catch-up will try it anyway, but changes no producer reports may be missed');
      } else {
        this.opts.logger.info({ intervalMs: this.opts.intervalMs, types: withHistory.length }, "catching up from the upstream's _history");
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, "could not read the upstream's CapabilityStatement to check its history support");
    }
  }
}

interface WireEvent {
  interaction: 'create' | 'update' | 'delete';
  reference: string;
  versionId: string;
  timestamp: string;
  resource?: unknown;
}

/** A history entry as the event a producer would have sent; undefined when it says too little. */
export function toEvent(type: string, entry: HistoryEntry): WireEvent | undefined {
  const method = entry.request?.method?.toUpperCase();
  const resource = entry.resource as { resourceType?: string; id?: string; meta?: { versionId?: string; lastUpdated?: string } } | undefined;
  const interaction = method === 'DELETE' ? 'delete' : method === 'POST' || entry.response?.status?.startsWith('201') ? 'create' : method === 'PUT' || method === 'PATCH' ? 'update' : undefined;
  if (interaction === undefined) return undefined;
  const id = resource?.id ?? /^(?:.*\/)?[A-Za-z]+\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(entry.request?.url ?? entry.fullUrl ?? '')?.[1];
  const versionId = resource?.meta?.versionId ?? /^W\/"(.+)"$/.exec(entry.response?.etag ?? '')?.[1];
  const timestamp = resource?.meta?.lastUpdated ?? entry.response?.lastModified;
  if (!id || !versionId || !timestamp || Number.isNaN(Date.parse(timestamp))) return undefined;
  return {
    interaction,
    reference: `${type}/${id}`,
    versionId,
    timestamp,
    ...(interaction !== 'delete' && resource?.resourceType === type ? { resource } : {}),
  };
}
