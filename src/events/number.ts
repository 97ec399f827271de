import type { Engine } from '../engine/engine.js';
import type { EventLog } from '../eventlog/index.js';
import type { ActiveSubscription } from '../subscriptions/registry.js';
import type { ResourceChangeEvent } from './event.js';
import { receivedAt } from './received-at.js';
import { DELIVERY_CHANNEL, type DeliveryMessage } from './delivery.js';

/**
 * Numbers the event in the event log (idempotent per event id) and publishes one delivery
 * message for all its matches. Run again after a failure, it publishes the same numbers.
 */
export async function numberAndPublish(engine: Engine, log: EventLog, event: ResourceChangeEvent, matched: readonly ActiveSubscription[]): Promise<DeliveryMessage> {
  const matches = await log.number(event, matched);
  const delivered = { eventId: event.eventId, interaction: event.interaction, reference: event.reference, versionId: event.versionId, timestamp: event.timestamp, resource: event.resource };
  const message: DeliveryMessage = { event: delivered, matches, receivedAt: receivedAt(event) };
  if (matches.length > 0) await engine.publish(DELIVERY_CHANNEL, JSON.stringify(message));
  return message;
}
