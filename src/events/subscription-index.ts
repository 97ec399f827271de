import type { FhirVersion } from '../config.js';
import type { SubscriptionFilter } from '../fhir/subscription.js';
import { filterKeys, indexKeys } from '../fhir/search-eval/index.js';
import type { ActiveSubscription } from '../subscriptions/registry.js';
import type { FhirResource } from './event.js';

/** Subscriptions of one topic for one resource type. */
interface Bucket {
  /** parameter → equality key → subscription ids */
  byKey: Map<string, Map<string, Set<string>>>;
  /** Subscriptions with no indexable equality filter: every event of the type is a candidate. */
  scan: Set<string>;
}

/** The filters of a subscription that apply to events of one resource type. */
export function filtersFor(subscription: ActiveSubscription, resourceType: string): SubscriptionFilter[] {
  return subscription.filters.filter((f) => f.resourceType === undefined || f.resourceType === resourceType);
}

/**
 * Finds the subscriptions an event may match in time proportional to the candidates, not to all
 * subscriptions: topic → resource type → the value of one equality filter (a patient reference,
 * say). A subscription is indexed under one such filter; the others are checked on the candidates.
 */
export class SubscriptionIndex {
  private readonly buckets = new Map<string, Map<string, Bucket>>();
  /** Where each subscription was put, so it can be taken out again. */
  private readonly placed = new Map<string, Array<{ bucket: Bucket; param?: string; keys?: string[] }>>();

  constructor(private readonly version: FhirVersion) {}

  /** resourceTypes: the types the subscription's topic triggers on. */
  add(subscription: ActiveSubscription, resourceTypes: readonly string[]): void {
    this.remove(subscription.id);
    const places: Array<{ bucket: Bucket; param?: string; keys?: string[] }> = [];
    for (const type of resourceTypes) {
      const bucket = this.bucket(subscription.topic, type);
      const indexable = this.indexable(filtersFor(subscription, type), type);
      if (indexable) {
        let byValue = bucket.byKey.get(indexable.param);
        if (!byValue) bucket.byKey.set(indexable.param, (byValue = new Map<string, Set<string>>()));
        for (const key of indexable.keys) {
          let ids = byValue.get(key);
          if (!ids) byValue.set(key, (ids = new Set()));
          ids.add(subscription.id);
        }
        places.push({ bucket, param: indexable.param, keys: indexable.keys });
      } else {
        bucket.scan.add(subscription.id);
        places.push({ bucket });
      }
    }
    this.placed.set(subscription.id, places);
  }

  remove(id: string): void {
    for (const place of this.placed.get(id) ?? []) {
      if (!place.param) {
        place.bucket.scan.delete(id);
        continue;
      }
      const byValue = place.bucket.byKey.get(place.param)!;
      for (const key of place.keys!) {
        const ids = byValue.get(key);
        ids?.delete(id);
        if (ids?.size === 0) byValue.delete(key);
      }
      if (byValue.size === 0) place.bucket.byKey.delete(place.param);
    }
    this.placed.delete(id);
  }

  clear(): void {
    this.buckets.clear();
    this.placed.clear();
  }

  /** Subscription ids of a topic that may match a resource of a type (filters still to be checked). */
  candidates(topic: string, resourceType: string, focus: FhirResource | undefined): Set<string> {
    const bucket = this.buckets.get(topic)?.get(resourceType);
    if (!bucket) return new Set();
    const out = new Set(bucket.scan);
    if (!focus) {
      // Without the resource nothing can be looked up: every indexed subscription is a candidate.
      for (const byValue of bucket.byKey.values()) for (const ids of byValue.values()) for (const id of ids) out.add(id);
      return out;
    }
    for (const [param, byValue] of bucket.byKey) {
      const keys = indexKeys(this.version, focus, param);
      if (keys === undefined) {
        // The resource cannot be keyed for this parameter (a urn:uuid reference, say): every
        // subscription waiting on it must have its filters checked, or one would be missed.
        for (const ids of byValue.values()) for (const id of ids) out.add(id);
        continue;
      }
      for (const key of keys) for (const id of byValue.get(key) ?? []) out.add(id);
    }
    return out;
  }

  /** Whether any subscription waits on this topic and type: lets the pipeline skip work early. */
  has(topic: string, resourceType: string): boolean {
    const bucket = this.buckets.get(topic)?.get(resourceType);
    return !!bucket && (bucket.scan.size > 0 || bucket.byKey.size > 0);
  }

  private indexable(filters: SubscriptionFilter[], resourceType: string): { param: string; keys: string[] } | undefined {
    for (const f of filters) {
      const keys = filterKeys(this.version, { resourceType, parameter: f.parameter, modifier: f.modifier, comparator: f.comparator, value: f.value });
      if (keys && keys.length > 0) return { param: f.parameter, keys };
    }
    return undefined;
  }

  private bucket(topic: string, type: string): Bucket {
    let byType = this.buckets.get(topic);
    if (!byType) this.buckets.set(topic, (byType = new Map<string, Bucket>()));
    let bucket = byType.get(type);
    if (!bucket) byType.set(type, (bucket = { byKey: new Map(), scan: new Set() }));
    return bucket;
  }
}
