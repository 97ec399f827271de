import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { SERVICE, type UpstreamClient } from '../upstream/fhir-client.js';
import type { SubscriptionRegistry } from './registry.js';

export interface ReaperOptions {
  engine: Engine;
  registry: SubscriptionRegistry;
  client: UpstreamClient;
  logger: Logger;
  /** A websocket subscription with no binding anywhere for this long is turned off. */
  abandonedAfterMs: number;
}

const lastBoundKey = (id: string) => `lastbound:${id}`;
const LOCK = 'lock:reaper';

/**
 * Turns off websocket subscriptions nobody binds: clients that create a subscription on every
 * reconnect (Medplum's does) would otherwise leave them piling up, each one matched on every
 * event. A subscription counts as bound while any replica reports a binding for it.
 */
export class AbandonedSubscriptionReaper {
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(private readonly opts: ReaperOptions) {
    this.intervalMs = Math.max(500, Math.min(60_000, Math.floor(opts.abandonedAfterMs / 3)));
    // A subscription starts its clock when it becomes active, not when first bound.
    opts.registry.onChange((change) => {
      if (change.op === 'upsert') void this.startClock(change.model.id);
      else void opts.engine.del(lastBoundKey(change.id)).catch(() => undefined);
    });
  }

  /** How often replicas should report their bindings, so a bound subscription is never reaped. */
  get presenceIntervalMs(): number {
    return this.intervalMs;
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep().catch((err: unknown) => this.opts.logger.warn({ err }, 'abandoned-subscription sweep failed')), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Called by the WebSocket channel for the subscriptions bound on this replica. */
  async markBound(ids: Iterable<string>): Promise<void> {
    const now = String(Date.now());
    await Promise.all([...ids].map((id) => this.opts.engine.set(lastBoundKey(id), now)));
  }

  async sweep(now = Date.now()): Promise<string[]> {
    const { engine, registry } = this.opts;
    if (!(await engine.claim(LOCK, Math.floor(this.intervalMs * 0.8)))) return [];
    const reaped: string[] = [];
    for (const sub of [...registry.all()]) {
      const last = Number(await engine.get(lastBoundKey(sub.id)));
      if (!last || now - last < this.opts.abandonedAfterMs) continue;
      if (await this.turnOff(sub.id)) reaped.push(sub.id);
    }
    return reaped;
  }

  private async startClock(id: string): Promise<void> {
    if ((await this.opts.engine.get(lastBoundKey(id))) === null) await this.opts.engine.set(lastBoundKey(id), String(Date.now()));
  }

  /** Stores status off at the upstream, then deactivates: a stored `active` would come back at resync. */
  private async turnOff(id: string): Promise<boolean> {
    const { client, registry, logger } = this.opts;
    const read = await client.request('GET', `Subscription/${encodeURIComponent(id)}`, SERVICE);
    if (read.status === 404 || read.status === 410) {
      await registry.remove(id, 'gone-upstream');
      return true;
    }
    if (read.status !== 200) {
      logger.warn({ subscription: id, status: read.status }, 'cannot read an abandoned subscription to turn it off; set FHIR_UPSTREAM_AUTHORIZATION');
      return false;
    }
    const stored = read.body as Record<string, unknown>;
    const put = await client.request('PUT', `Subscription/${encodeURIComponent(id)}`, SERVICE, { ...stored, status: 'off' });
    if (put.status < 200 || put.status >= 300) {
      logger.warn({ subscription: id, status: put.status }, 'cannot turn off an abandoned subscription at the upstream');
      return false;
    }
    await registry.remove(id, 'off');
    logger.info({ subscription: id, abandonedAfterMs: this.opts.abandonedAfterMs }, 'websocket subscription turned off: no client has bound it');
    return true;
  }
}
