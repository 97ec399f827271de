// The gateway's one model of a SubscriptionTopic, whichever form it came in (R5 or R4B
// SubscriptionTopic JSON, an R4 Basic resource wrapping one, or the implicit topic behind a
// classic R4 criteria string). Everything downstream (validation, matching, discovery) reads this.
import type { FhirVersion } from '../config.js';

export type Interaction = 'create' | 'update' | 'delete';
export type CriteriaResult = 'test-passes' | 'test-fails';
export type Comparator = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
export type TopicStatus = 'draft' | 'active' | 'retired' | 'unknown';

export interface QueryCriteria {
  /** A search query string such as `status:not=finished` (no resource type, may be URL-encoded). */
  previous?: string;
  resultForCreate?: CriteriaResult;
  current?: string;
  resultForDelete?: CriteriaResult;
  requireBoth?: boolean;
}

export interface ResourceTrigger {
  /** A resource type name, normalised from relative or absolute StructureDefinition URLs. */
  resource: string;
  /** Empty means every interaction. */
  supportedInteraction: Interaction[];
  queryCriteria?: QueryCriteria;
  fhirPathCriteria?: string;
  description?: string;
}

export interface CanFilterBy {
  /** A resource type name; absent means the filter applies to every triggering resource. */
  resource?: string;
  filterParameter: string;
  filterDefinition?: string;
  comparator: Comparator[];
  modifier: string[];
  description?: string;
}

export interface NotificationShape {
  resource: string;
  include: string[];
  revInclude: string[];
}

export type TopicSource = { kind: 'config'; file: string } | { kind: 'upstream'; reference: string } | { kind: 'implicit' };

export interface Topic {
  url: string;
  version?: string;
  name?: string;
  title?: string;
  status: TopicStatus;
  date?: string;
  description?: string;
  derivedFrom: string[];
  resourceTrigger: ResourceTrigger[];
  canFilterBy: CanFilterBy[];
  notificationShape: NotificationShape[];
  source: TopicSource;
  /** An id under which SubscriptionTopic reads serve it (the upstream id, or one derived from the url). */
  id: string;
}

/** Looks topics up by canonical URL, with or without a `|version` suffix. */
export interface TopicLookup {
  get(canonical: string): Topic | undefined;
}

/** The prefix of the implicit topic of a classic criteria subscription: one per resource type. */
export const IMPLICIT_TOPIC_PREFIX = 'urn:fhir-subscription-gateway:criteria:';

export type { FhirVersion };
