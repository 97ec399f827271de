// Which numbered stream a subscription belongs to: subscriptions that match exactly the same
// events (same topic, same classic criteria, same filters in any order) share one.
import { createHash } from 'node:crypto';
import type { SubscriptionModel } from '../fhir/subscription.js';

export function streamIdOf(sub: Pick<SubscriptionModel, 'topic' | 'criteria' | 'filters'>): string {
  const filters = sub.filters.map((f) => JSON.stringify([f.resourceType ?? null, f.parameter, f.comparator ?? null, f.modifier ?? null, f.value])).sort();
  return createHash('sha256').update(JSON.stringify([sub.topic, sub.criteria ?? null, filters])).digest('base64url').slice(0, 22);
}
