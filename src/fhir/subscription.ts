// The gateway's one model of a Subscription, parsed from an R4/R4B backport Subscription, an R5
// Subscription, or a classic R4 criteria Subscription.
import type { FhirVersion } from '../config.js';
import type { Comparator } from '../topics/topic.js';

export type SubscriptionStatusCode = 'requested' | 'active' | 'error' | 'off' | 'entered-in-error';
export type ContentLevel = 'empty' | 'id-only' | 'full-resource';

export interface SubscriptionFilter {
  /** Resource type the filter applies to; absent: every resource the topic triggers on. */
  resourceType?: string;
  /** The search parameter name, e.g. `patient`. */
  parameter: string;
  comparator?: Comparator;
  modifier?: string;
  value: string;
}

export interface SubscriptionModel {
  /** Absent until the upstream has stored it. */
  id?: string;
  status: SubscriptionStatusCode;
  /** Topic canonical URL; for classic criteria the implicit topic (IMPLICIT_TOPIC_PREFIX + type). */
  topic: string;
  /** The classic R4 criteria string, when the subscription is not topic-based. */
  criteria?: string;
  filters: SubscriptionFilter[];
  channelType: 'websocket';
  endpoint?: string;
  content: ContentLevel;
  /** MIME type of notifications, without parameters. */
  contentType: string;
  /** The FHIR version whose notification shape this subscription gets. */
  notificationVersion: FhirVersion;
  /** Seconds; absent: no heartbeats. */
  heartbeatPeriod?: number;
  timeout?: number;
  maxCount?: number;
  /** Instant after which the subscription is off. */
  end?: string;
}
