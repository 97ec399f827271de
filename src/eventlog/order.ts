// Version order across replicas: an event of a resource is numbered only after every older
// version of that resource that some replica is processing has been numbered (or given up).
//
// Each replica announces an event (its resource's version time) before it claims it, and
// withdraws the announcement when it loses the claim or has finished. Claims are atomic, so a
// replica that lost the claim of version 1 knows the winner's announcement of it is already
// stored; when that replica then numbers version 2 it sees version 1 pending and waits for it.
// "Older" is by the event's timestamp (the upstream's meta.lastUpdated for proxied writes),
// since version ids are opaque. Versions with the same timestamp are not ordered among
// themselves; an announcement older than STALE_MS (a replica died) is ignored, and no event
// waits longer than MAX_WAIT_MS.
import { randomUUID } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { orderKey } from './keys.js';

export interface Ordered {
  eventId: string;
  reference: string;
  timestamp: string;
}

const STALE_MS = 30_000;
const MAX_WAIT_MS = 10_000;
const POLL_MS = 15;

export class VersionOrder {
  private readonly replica = randomUUID();

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  async announce(event: Ordered): Promise<void> {
    const key = orderKey(event.reference);
    await this.engine.hset(key, this.field(event), `${timeOf(event)}:${Date.now()}`);
    await this.engine.expire(key, STALE_MS * 2);
  }

  async withdraw(event: Ordered): Promise<void> {
    await this.engine.hdel(orderKey(event.reference), this.field(event));
  }

  /** Resolves once no older version of the resource is pending anywhere. */
  async turn(event: Ordered): Promise<void> {
    const mine = timeOf(event);
    const started = Date.now();
    for (;;) {
      const pending = await this.engine.hgetall(orderKey(event.reference));
      const now = Date.now();
      let older = false;
      for (const [field, value] of pending) {
        if (field.startsWith(`${event.eventId}|`)) continue;
        const [at, announced] = value.split(':').map(Number);
        if (at! < mine && announced! > now - STALE_MS) older = true;
      }
      if (!older) return;
      if (now - started > MAX_WAIT_MS) {
        this.logger.warn({ event: event.eventId }, 'an older version of this resource is still pending after 10 s; numbering this one now');
        return;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private field(event: Ordered): string {
    return `${event.eventId}|${this.replica}`;
  }
}

function timeOf(event: Ordered): number {
  const t = Date.parse(event.timestamp);
  return Number.isFinite(t) ? t : 0;
}
