// A Topic served back to clients as the SubscriptionTopic resource of their FHIR version (R4
// clients get the Basic-wrapped form, see render-basic.ts).
import type { FhirVersion } from '../config.js';
import { compact } from './json.js';
import { renderBasicTopic, type BasicTopicJson } from './render-basic.js';
import type { CanFilterBy, Comparator, Interaction, QueryCriteria, Topic, TopicStatus } from './topic.js';

export { renderBasicTopic, type BasicTopicJson };

export interface ResourceTriggerJson {
  description?: string;
  resource: string;
  supportedInteraction?: Interaction[];
  queryCriteria?: QueryCriteria;
  fhirPathCriteria?: string;
}

export interface CanFilterByJson {
  description?: string;
  resource?: string;
  filterParameter: string;
  filterDefinition?: string;
  /** R5 only. */
  comparator?: Comparator[];
  modifier?: string[];
}

export interface NotificationShapeJson {
  resource: string;
  include?: string[];
  revInclude?: string[];
}

export interface SubscriptionTopicJson {
  resourceType: 'SubscriptionTopic';
  id: string;
  url: string;
  version?: string;
  /** R5 only. */
  name?: string;
  title?: string;
  status: TopicStatus;
  date?: string;
  description?: string;
  derivedFrom?: string[];
  resourceTrigger: ResourceTriggerJson[];
  canFilterBy?: CanFilterByJson[];
  notificationShape?: NotificationShapeJson[];
}

// The codes of the R4B canFilterBy.modifier binding (required): comparators and modifiers share it.
const R4B_MODIFIERS = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'above', 'below', 'in', 'not-in', 'of-type']);

/** FHIR forbids empty arrays, so an empty list is left out. */
const nonEmpty = <T>(items: readonly T[]): T[] | undefined => (items.length === 0 ? undefined : [...items]);

export function renderTopic(topic: Topic, version: 'R4B' | 'R5'): SubscriptionTopicJson;
export function renderTopic(topic: Topic, version: 'R4'): BasicTopicJson;
export function renderTopic(topic: Topic, version: FhirVersion): SubscriptionTopicJson | BasicTopicJson;
export function renderTopic(topic: Topic, version: FhirVersion): SubscriptionTopicJson | BasicTopicJson {
  if (version === 'R4') return renderBasicTopic(topic);
  return compact({
    resourceType: 'SubscriptionTopic',
    id: topic.id,
    url: topic.url,
    version: topic.version,
    name: version === 'R5' ? topic.name : undefined,
    title: topic.title,
    status: topic.status,
    date: topic.date,
    description: topic.description,
    derivedFrom: nonEmpty(topic.derivedFrom),
    resourceTrigger: topic.resourceTrigger.map((t) =>
      compact({
        description: t.description,
        resource: t.resource,
        supportedInteraction: nonEmpty(t.supportedInteraction),
        queryCriteria: t.queryCriteria === undefined ? undefined : { ...t.queryCriteria },
        fhirPathCriteria: t.fhirPathCriteria,
      }),
    ),
    canFilterBy: nonEmpty(topic.canFilterBy.map((f) => (version === 'R5' ? filterR5(f) : filterR4B(f)))),
    notificationShape: nonEmpty(topic.notificationShape.map((s) => compact({ resource: s.resource, include: nonEmpty(s.include), revInclude: nonEmpty(s.revInclude) }))),
  });
}

function filterR5(f: CanFilterBy): CanFilterByJson {
  return compact({
    description: f.description,
    resource: f.resource,
    filterParameter: f.filterParameter,
    filterDefinition: f.filterDefinition,
    comparator: nonEmpty(f.comparator),
    modifier: nonEmpty(f.modifier),
  });
}

// R4B has no comparator element; its modifier binding is required, so R5-only modifiers (not,
// missing, exact, ...) are left out rather than sent as codes an R4B validator rejects.
function filterR4B(f: CanFilterBy): CanFilterByJson {
  return compact({
    description: f.description,
    resource: f.resource,
    filterParameter: f.filterParameter,
    filterDefinition: f.filterDefinition,
    modifier: nonEmpty([...f.comparator, ...f.modifier.filter((m) => R4B_MODIFIERS.has(m))]),
  });
}
