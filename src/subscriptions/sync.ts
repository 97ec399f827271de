import type { FhirVersion } from '../config.js';
import type { Engine } from '../engine/engine.js';
import { parseSubscription, SubscriptionInvalid } from '../fhir/subscription-parse.js';
import type { Logger } from '../log.js';
import type { TopicLookup } from '../topics/topic.js';
import { SERVICE, type UpstreamClient } from '../upstream/fhir-client.js';
import type { ActiveSubscription, RemovalReason, SubscriptionRegistry } from './registry.js';

export interface SyncDeps {
  registry: SubscriptionRegistry;
  client: UpstreamClient;
  engine: Engine;
  topics: TopicLookup;
  fhirVersion: FhirVersion;
  logger: Logger;
  knownResourceTypes?: ReadonlySet<string>;
}

interface StoredSubscription {
  resourceType: 'Subscription';
  id?: string;
  status?: string;
}

/** True while the subscription should be delivered to: Subscription.end not yet passed. */
export function isLive(model: { end?: string }, now = Date.now()): boolean {
  return model.end === undefined || Date.parse(model.end) > now;
}

/**
 * Brings the registry in line with the Subscriptions the upstream stores, so changes made
 * directly at the upstream (or missed while a replica was down) are picked up.
 */
export class RegistrySync {
  private readonly reported = new Set<string>();

  constructor(private readonly deps: SyncDeps) {}

  async rebuild(): Promise<{ active: number; inactive: number }> {
    const { registry, client, logger } = this.deps;
    const startedAt = Date.now();
    const wanted = new Map<string, ActiveSubscription>();
    const inactive = new Map<string, RemovalReason>();
    for await (const resource of client.search('Subscription?_count=200', SERVICE)) {
      const stored = resource as StoredSubscription;
      if (stored.resourceType !== 'Subscription' || !stored.id) continue;
      const verdict = this.evaluate(stored);
      if ('model' in verdict) wanted.set(stored.id, verdict.model);
      else inactive.set(stored.id, verdict.reason);
    }
    for (const [id, model] of wanted) {
      if (registry.changedSince(id, startedAt)) continue;
      const current = registry.get(id);
      if (!current || JSON.stringify(current) !== JSON.stringify(model)) await registry.upsert(model);
    }
    for (const current of [...registry.all()]) {
      if (wanted.has(current.id) || registry.changedSince(current.id, startedAt)) continue;
      await registry.remove(current.id, inactive.get(current.id) ?? 'gone-upstream');
    }
    logger.debug({ active: wanted.size, inactive: inactive.size }, 'subscription registry resynced');
    return { active: wanted.size, inactive: inactive.size };
  }

  /** Removes subscriptions whose end has passed; returns their ids. */
  async sweepExpired(now = Date.now()): Promise<string[]> {
    const expired = [...this.deps.registry.all()].filter((m) => !isLive(m, now)).map((m) => m.id);
    for (const id of expired) await this.deps.registry.remove(id, 'expired');
    return expired;
  }

  private evaluate(stored: StoredSubscription): { model: ActiveSubscription } | { reason: RemovalReason } {
    if (stored.status !== 'active' && stored.status !== 'requested') return { reason: 'off' };
    let model;
    try {
      model = parseSubscription(stored, { fhirVersion: this.deps.fhirVersion, topics: this.deps.topics, knownResourceTypes: this.deps.knownResourceTypes, now: new Date(0) });
    } catch (err) {
      if (!(err instanceof SubscriptionInvalid)) throw err;
      // Stored by another client straight at the upstream, in a form we cannot serve: say so once.
      if (!this.reported.has(stored.id!)) {
        this.reported.add(stored.id!);
        this.deps.logger.info({ subscription: stored.id, reason: err.message }, 'upstream Subscription is not served by the gateway');
      }
      return { reason: 'unsupported' };
    }
    if (!isLive(model)) return { reason: 'expired' };
    return { model: { ...model, id: stored.id!, status: 'active' } };
  }
}
