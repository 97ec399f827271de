import type { Engine } from '../engine/engine.js';
import type { ActiveSubscription } from '../subscriptions/registry.js';
import { eventCounterKey, eventLogKey } from '../subscriptions/keys.js';
import type { ResourceChangeEvent } from './event.js';
import { receivedAt } from './received-at.js';
import { DELIVERY_CHANNEL, eventBodyKey, type DeliveryMessage, type LoggedEvent } from './delivery.js';

export interface Retention {
  maxLen: number;
  maxAgeMs: number;
}

/**
 * Stores the event once, numbers it for every matched subscription in one atomic step each
 * (pipelined), and publishes one delivery message for all of them.
 */
export async function numberAndPublish(engine: Engine, event: ResourceChangeEvent, matched: readonly ActiveSubscription[], retention: Retention): Promise<DeliveryMessage> {
  const delivered = { eventId: event.eventId, interaction: event.interaction, reference: event.reference, versionId: event.versionId, timestamp: event.timestamp, resource: event.resource };
  // The body (resource included) is kept once, however many subscriptions matched.
  await engine.set(eventBodyKey(event.eventId), JSON.stringify(delivered), { ttlMs: retention.maxAgeMs });
  const logged: LoggedEvent = { e: event.eventId, r: event.reference, i: event.interaction, v: event.versionId, t: event.timestamp };
  const data = JSON.stringify(logged);
  const numbers = await engine.appendNumbered(
    matched.map((s) => ({ counterKey: eventCounterKey(s.id), logKey: eventLogKey(s.id), data })),
    { maxLen: retention.maxLen, maxAgeMs: retention.maxAgeMs },
  );
  const message: DeliveryMessage = { event: delivered, matches: matched.map((s, i) => [s.id, numbers[i]!]), receivedAt: receivedAt(event) };
  await engine.publish(DELIVERY_CHANNEL, JSON.stringify(message));
  return message;
}
