// Which numbered stream a subscription belongs to: subscriptions that match exactly the same
// events (same topic, same classic criteria, same filters in any order) share one.
import { createHash } from 'node:crypto';
import type { SubscriptionModel } from '../fhir/subscription.js';

type Identity = Pick<SubscriptionModel, 'topic' | 'criteria' | 'filters'>;

// Models are replaced, never changed in place, when a subscription changes: one hash per model
// object, not one per event it matches.
const known = new WeakMap<Identity, string>();

export function streamIdOf(sub: Identity): string {
  let id = known.get(sub);
  if (id === undefined) {
    const filters = sub.filters.map((f) => JSON.stringify([f.resourceType ?? null, f.parameter, f.comparator ?? null, f.modifier ?? null, f.value])).sort();
    id = createHash('sha256')
      .update(JSON.stringify([sub.topic, sub.criteria ?? null, filters]))
      .digest('base64url')
      .slice(0, 22);
    known.set(sub, id);
  }
  return id;
}
