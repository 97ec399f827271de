import type { Engine, Unsubscribe } from '../engine/engine.js';
import type { SubscriptionModel } from '../fhir/subscription.js';
import type { Logger } from '../log.js';

/** Why a subscription left the registry: listeners revoke tokens and unbind sockets on these. */
export type RemovalReason = 'deleted' | 'off' | 'expired' | 'gone-upstream' | 'unsupported';

export type RegistryChange = { op: 'upsert'; model: ActiveSubscription } | { op: 'remove'; id: string; reason: RemovalReason };

export type ActiveSubscription = SubscriptionModel & { id: string };

const HASH = 'subscriptions:active';
const CHANNEL = 'subscriptions:changes';

/**
 * The active subscriptions, shared by every replica through the engine and held in memory on
 * each for matching. A change made on one replica reaches the others through the engine's
 * pub/sub; the engine hash is what a replica that starts later loads.
 */
export class SubscriptionRegistry {
  private readonly byId = new Map<string, ActiveSubscription>();
  private readonly byTopic = new Map<string, Set<string>>();
  private readonly listeners: Array<(change: RegistryChange) => void> = [];
  /** When each id last changed here, so a slow rebuild does not undo a newer change. */
  private readonly touched = new Map<string, number>();
  private unsubscribe: Unsubscribe | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to changes before loading, so nothing published in between is missed. */
  async start(): Promise<void> {
    this.unsubscribe = await this.engine.subscribe(CHANNEL, (message) => this.receive(message));
    const all = await this.engine.hgetall(HASH);
    for (const [id, json] of all) {
      const model = decode(json);
      if (model) this.apply({ op: 'upsert', model });
      else this.logger.warn({ subscription: id }, 'unreadable registry entry ignored');
    }
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
  }

  get(id: string): ActiveSubscription | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<ActiveSubscription> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  forTopic(topic: string): ActiveSubscription[] {
    const ids = this.byTopic.get(topic);
    return ids ? [...ids].map((id) => this.byId.get(id)!) : [];
  }

  /** True when the subscription was created, changed or removed at or after `since` (ms). */
  changedSince(id: string, since: number): boolean {
    return (this.touched.get(id) ?? -Infinity) >= since;
  }

  onChange(fn: (change: RegistryChange) => void): void {
    this.listeners.push(fn);
  }

  async upsert(model: ActiveSubscription): Promise<void> {
    await this.engine.hset(HASH, model.id, JSON.stringify(model));
    this.apply({ op: 'upsert', model });
    await this.engine.publish(CHANNEL, JSON.stringify({ op: 'upsert', model } satisfies RegistryChange));
  }

  async remove(id: string, reason: RemovalReason): Promise<void> {
    await this.engine.hdel(HASH, id);
    this.apply({ op: 'remove', id, reason });
    await this.engine.publish(CHANNEL, JSON.stringify({ op: 'remove', id, reason } satisfies RegistryChange));
  }

  private receive(message: string): void {
    let change: RegistryChange;
    try {
      change = JSON.parse(message) as RegistryChange;
    } catch {
      this.logger.warn('unreadable registry change ignored');
      return;
    }
    this.apply(change);
  }

  /** Idempotent: our own changes come back through pub/sub and must be harmless. */
  private apply(change: RegistryChange): void {
    this.touched.set(change.op === 'upsert' ? change.model.id : change.id, Date.now());
    if (change.op === 'upsert') {
      const previous = this.byId.get(change.model.id);
      if (previous && JSON.stringify(previous) === JSON.stringify(change.model)) return;
      if (previous) this.unindex(previous);
      this.byId.set(change.model.id, change.model);
      let ids = this.byTopic.get(change.model.topic);
      if (!ids) this.byTopic.set(change.model.topic, (ids = new Set()));
      ids.add(change.model.id);
    } else {
      const previous = this.byId.get(change.id);
      if (!previous) return;
      this.unindex(previous);
      this.byId.delete(change.id);
    }
    for (const fn of this.listeners) {
      try {
        fn(change);
      } catch (err) {
        this.logger.error({ err }, 'registry listener failed');
      }
    }
  }

  private unindex(model: ActiveSubscription): void {
    const ids = this.byTopic.get(model.topic);
    ids?.delete(model.id);
    if (ids?.size === 0) this.byTopic.delete(model.topic);
  }
}

function decode(json: string): ActiveSubscription | undefined {
  try {
    const value = JSON.parse(json) as ActiveSubscription;
    return typeof value?.id === 'string' && typeof value.topic === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
