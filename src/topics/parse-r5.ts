// SubscriptionTopic JSON (R5, or R4B: the same shape with comparators listed among the modifiers)
// into the gateway's Topic. Basic-wrapped topics are first rewritten into this shape by parse-basic.ts.
import { createHash } from 'node:crypto';
import { canonicalOf } from './canonical.js';
import { TopicInvalid } from './invalid.js';
import { compact, list, object, optionalBoolean, optionalCode, optionalString, requiredString, strings, type JsonObject } from './json.js';
import { resourceTypeOf } from './resource-type.js';
import type { CanFilterBy, Comparator, CriteriaResult, Interaction, NotificationShape, QueryCriteria, ResourceTrigger, Topic, TopicSource, TopicStatus } from './topic.js';

/** A parsed topic and what the parser had to ignore to accept it (for the loader to log). */
export interface ParsedTopic {
  topic: Topic;
  warnings: string[];
}

const STATUSES: readonly TopicStatus[] = ['draft', 'active', 'retired', 'unknown'];
const INTERACTIONS: readonly Interaction[] = ['create', 'update', 'delete'];
const RESULTS: readonly CriteriaResult[] = ['test-passes', 'test-fails'];
export const COMPARATORS: readonly Comparator[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const unique = <T>(items: T[]): T[] => [...new Set(items)];

export function parseSubscriptionTopic(o: JsonObject, source: TopicSource, label: string): ParsedTopic {
  const warnings: string[] = [];
  const at = (element: string) => `${label}.${element}`;

  // A modifier extension may change the meaning of everything else; one we do not know makes the topic unreadable.
  const modifiers = list(o.modifierExtension, at('modifierExtension'));
  if (modifiers.length > 0) {
    const urls = modifiers.map((m, i) => optionalString(object(m, at(`modifierExtension[${i}]`)).url, at(`modifierExtension[${i}].url`)));
    throw new TopicInvalid(`${at('modifierExtension')} ${urls.join(', ')} is not understood by the gateway`);
  }

  const url = requiredString(o.url, at('url'), 'is required: subscriptions name a topic by its canonical url');
  const triggers = list(o.resourceTrigger, at('resourceTrigger'));
  const eventTriggers = list(o.eventTrigger, at('eventTrigger')).length;
  if (triggers.length === 0) {
    throw new TopicInvalid(
      eventTriggers > 0
        ? `${label} ${url} has only eventTrigger elements; the gateway evaluates resource triggers (resourceTrigger) only`
        : `${label} ${url} has no resourceTrigger, so nothing could ever trigger it`,
    );
  }
  if (eventTriggers > 0) warnings.push(`${eventTriggers} eventTrigger element(s) ignored: the gateway evaluates resource triggers only`);

  let status = optionalCode(o.status, at('status'), STATUSES);
  if (status === undefined) {
    warnings.push(`${at('status')} is missing; treated as unknown`);
    status = 'unknown';
  }

  const version = optionalString(o.version, at('version'));
  const resourceTrigger = triggers.map((t, i) => trigger(t, at(`resourceTrigger[${i}]`)));
  const canFilterBy = list(o.canFilterBy, at('canFilterBy')).flatMap((f, i) => filter(f, at(`canFilterBy[${i}]`), warnings) ?? []);
  const notificationShape = list(o.notificationShape, at('notificationShape')).flatMap((s, i) => shape(s, at(`notificationShape[${i}]`), warnings) ?? []);

  const rawId = optionalString(o.id, at('id'));
  if (rawId !== undefined && !FHIR_ID.test(rawId)) warnings.push(`${at('id')} ${JSON.stringify(rawId)} is not a valid FHIR id; using one derived from the url`);
  const id = rawId !== undefined && FHIR_ID.test(rawId) ? rawId : topicIdFromCanonical(url, version);

  const topic: Topic = compact({
    url,
    version,
    name: optionalString(o.name, at('name')),
    title: optionalString(o.title, at('title')),
    status,
    date: optionalString(o.date, at('date')),
    description: optionalString(o.description, at('description')),
    derivedFrom: strings(o.derivedFrom, at('derivedFrom')),
    resourceTrigger,
    canFilterBy,
    notificationShape,
    source,
    id,
  });
  return { topic, warnings };
}

/**
 * An id for topics that arrive without one (config files may omit it): readable from the url's
 * last segment, and unique per url+version thanks to a hash, so it survives restarts and replicas.
 */
export function topicIdFromCanonical(url: string, version?: string): string {
  const tail = url.split(/[?#]/)[0]!.split('/').filter(Boolean).pop() ?? '';
  const slug =
    tail
      .replace(/[^A-Za-z0-9.-]+/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 48) || 'topic';
  const hash = createHash('sha256').update(canonicalOf({ url, version })).digest('hex').slice(0, 12);
  return `${slug}-${hash}`;
}

function trigger(raw: unknown, path: string): ResourceTrigger {
  const o = object(raw, path);
  const resourceUri = requiredString(o.resource, `${path}.resource`, 'is required: the gateway needs the resource type a trigger watches');
  const resource = resourceTypeOf(resourceUri);
  if (resource === undefined) throw new TopicInvalid(`${path}.resource ${JSON.stringify(resourceUri)} is not a FHIR resource type`);

  const supportedInteraction = unique(strings(o.supportedInteraction, `${path}.supportedInteraction`).map((s, i) => optionalCode(s, `${path}.supportedInteraction[${i}]`, INTERACTIONS)!));
  return compact({
    resource,
    supportedInteraction,
    queryCriteria: o.queryCriteria === undefined ? undefined : queryCriteria(o.queryCriteria, `${path}.queryCriteria`, resource),
    fhirPathCriteria: optionalString(o.fhirPathCriteria, `${path}.fhirPathCriteria`),
    description: optionalString(o.description, `${path}.description`),
  });
}

function queryCriteria(raw: unknown, path: string, resource: string): QueryCriteria | undefined {
  const o = object(raw, path);
  const q: QueryCriteria = compact({
    previous: criteriaQuery(o.previous, `${path}.previous`, resource),
    resultForCreate: optionalCode(o.resultForCreate, `${path}.resultForCreate`, RESULTS),
    current: criteriaQuery(o.current, `${path}.current`, resource),
    resultForDelete: optionalCode(o.resultForDelete, `${path}.resultForDelete`, RESULTS),
    requireBoth: optionalBoolean(o.requireBoth, `${path}.requireBoth`),
  });
  return Object.keys(q).length === 0 ? undefined : q;
}

// The spec's examples write bare queries (`status=finished`) but authors also write search-URL
// style (`Encounter?status=finished`); the model holds the bare form so the evaluator sees one shape.
function criteriaQuery(raw: unknown, path: string, resource: string): string | undefined {
  const s = optionalString(raw, path)?.trim();
  if (s === undefined) return undefined;
  const prefixed = /^([^=&?]*)\?(.*)$/s.exec(s);
  if (!prefixed) return s;
  const [, before = '', query = ''] = prefixed;
  const type = /(?:^|\/)([A-Z][A-Za-z0-9]*)$/.exec(before)?.[1];
  if (before !== '' && type !== resource) {
    throw new TopicInvalid(`${path} ${JSON.stringify(s)} searches ${type ?? before}, not the trigger's resource ${resource}`);
  }
  return query.trim() === '' ? undefined : query;
}

function filter(raw: unknown, path: string, warnings: string[]): CanFilterBy | undefined {
  const o = object(raw, path);
  const filterParameter = optionalString(o.filterParameter, `${path}.filterParameter`);
  if (filterParameter === undefined) {
    warnings.push(`${path} has no filterParameter and was ignored`);
    return undefined;
  }
  const resourceUri = optionalString(o.resource, `${path}.resource`);
  const resource = resourceUri === undefined ? undefined : resourceTypeOf(resourceUri);
  // Dropping only the resource would widen the filter to every resource type, so drop the filter.
  if (resourceUri !== undefined && resource === undefined) {
    warnings.push(`${path}.resource ${JSON.stringify(resourceUri)} is not a FHIR resource type; filter ${filterParameter} ignored`);
    return undefined;
  }

  const comparator: Comparator[] = [];
  for (const code of strings(o.comparator, `${path}.comparator`)) {
    if ((COMPARATORS as readonly string[]).includes(code)) comparator.push(code as Comparator);
    else warnings.push(`${path}.comparator ${JSON.stringify(code)} is not a search comparator and was ignored`);
  }
  // R4B has no comparator element and lists comparators (and `=`, meaning "no modifier") among the
  // modifiers; some Basic-wrapped R4 topics do the same. The model keeps the R5 split.
  const modifier: string[] = [];
  for (const code of strings(o.modifier, `${path}.modifier`)) {
    if (code === '=') continue;
    if ((COMPARATORS as readonly string[]).includes(code)) comparator.push(code as Comparator);
    else modifier.push(code);
  }

  return compact({
    resource,
    filterParameter,
    filterDefinition: optionalString(o.filterDefinition, `${path}.filterDefinition`),
    comparator: unique(comparator),
    modifier: unique(modifier),
    description: optionalString(o.description, `${path}.description`),
  });
}

function shape(raw: unknown, path: string, warnings: string[]): NotificationShape | undefined {
  const o = object(raw, path);
  const resourceUri = optionalString(o.resource, `${path}.resource`);
  const resource = resourceUri === undefined ? undefined : resourceTypeOf(resourceUri);
  if (resource === undefined) {
    warnings.push(`${path} has no resource type (${JSON.stringify(resourceUri ?? null)}) and was ignored`);
    return undefined;
  }
  return { resource, include: strings(o.include, `${path}.include`), revInclude: strings(o.revInclude, `${path}.revInclude`) };
}
