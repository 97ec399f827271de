// Whether a topic lets a subscription filter the way it asks, and the filter as the gateway will
// apply it. A topic only promises what its canFilterBy lists, so anything else is refused rather
// than silently evaluated some other way.
import type { CanFilterBy, Comparator, Topic } from '../topics/topic.js';
import { normaliseResourceType, RESOURCE_TYPE_PATTERN } from './resource-type.js';
import type { SubscriptionFilter } from './subscription.js';

export const COMPARATORS: readonly Comparator[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

export function isComparator(code: string): code is Comparator {
  return (COMPARATORS as readonly string[]).includes(code);
}

export interface FilterRequest {
  resourceType?: string;
  parameter: string;
  modifier?: string;
  comparator?: Comparator;
  value: string;
  /** The filter came as a string, where a comparator is a prefix of the value (`length=gt10`). */
  comparatorInValue: boolean;
}

export type FilterCheck = { ok: true; filter: SubscriptionFilter } | { ok: false; reason: string };

/**
 * Rules where the standards leave room:
 * - A filter without a resource type may use any canFilterBy of its parameter; when those all
 *   name one resource, the filter gets that resource type, so it is not applied to the topic's
 *   other trigger resources (where the parameter may not even exist).
 * - Plain equality (no modifier, no comparator, or the R4B `=` modifier) is always allowed.
 * - R4B lists comparators among a canFilterBy's modifiers (`eq`, `gt`, …), and so does the newest
 *   IG for R4; those count as allowed comparators, and `:gt=` written as a modifier is read as one.
 * - In the string form a value prefix is a comparator only when the parameter allows some
 *   comparator (it is then an ordered type, where search reads prefixes that way); otherwise
 *   `gt10` is just the value. A prefix that is a comparator but not an allowed one is refused.
 * - A resource type written as a modifier (`subject:Patient`) is allowed when `type` is.
 */
export function checkFilter(request: FilterRequest, topic: Topic): FilterCheck {
  const parameter = request.parameter;
  const type = request.resourceType === undefined ? undefined : normaliseResourceType(request.resourceType);
  const triggers = unique(topic.resourceTrigger.map((t) => normaliseResourceType(t.resource)));
  if (type !== undefined && !triggers.includes(type)) {
    return fail(`resource type '${type}' is not one topic ${topic.url} triggers on (${list(triggers)})`);
  }

  const appliesTo = (c: CanFilterBy): boolean => c.resource === undefined || type === undefined || resourceOf(c) === type;
  const applicable = topic.canFilterBy.filter((c) => c.filterParameter === parameter && appliesTo(c));
  if (applicable.length === 0) {
    const offered = unique(topic.canFilterBy.filter(appliesTo).map((c) => (c.resource ? `${resourceOf(c)}.${c.filterParameter}` : c.filterParameter)));
    const on = type === undefined ? '' : ` on ${type}`;
    return fail(`topic ${topic.url} does not allow filtering by '${parameter}'${on}; allowed: ${list(offered)}`);
  }

  const modifiers = unique(applicable.flatMap((c) => c.modifier));
  const comparators = unique([...applicable.flatMap((c) => c.comparator), ...modifiers.filter(isComparator)]);
  let { modifier, comparator, value } = request;
  if (modifier === '=') modifier = undefined;
  if (modifier !== undefined && comparator === undefined && isComparator(modifier)) {
    comparator = modifier;
    modifier = undefined;
  }
  if (request.comparatorInValue && modifier === undefined && comparator === undefined && comparators.length > 0) {
    const prefix = value.slice(0, 2);
    if (value.length > 2 && isComparator(prefix)) {
      comparator = prefix;
      value = value.slice(2);
    }
  }

  if (modifier !== undefined && !modifierAllowed(modifier, modifiers)) {
    const allowed = modifiers.filter((m) => m !== '=' && !isComparator(m));
    return fail(`modifier ':${modifier}' is not allowed on '${parameter}' by topic ${topic.url}; allowed: ${list(allowed)}`);
  }
  if (comparator !== undefined && !comparators.includes(comparator)) {
    return fail(`comparator '${comparator}' is not allowed on '${parameter}' by topic ${topic.url}; allowed: ${list(comparators)}`);
  }

  const filter: SubscriptionFilter = { parameter, value };
  const resourceType = type ?? onlyResource(applicable);
  if (resourceType !== undefined) filter.resourceType = resourceType;
  if (modifier !== undefined) filter.modifier = modifier;
  if (comparator !== undefined) filter.comparator = comparator;
  return { ok: true, filter };
}

function modifierAllowed(modifier: string, allowed: readonly string[]): boolean {
  return allowed.includes(modifier) || (RESOURCE_TYPE_PATTERN.test(modifier) && allowed.includes('type'));
}

function onlyResource(applicable: readonly CanFilterBy[]): string | undefined {
  if (applicable.some((c) => c.resource === undefined)) return undefined;
  const resources = unique(applicable.map(resourceOf));
  return resources.length === 1 ? resources[0] : undefined;
}

function resourceOf(c: CanFilterBy): string | undefined {
  return c.resource === undefined ? undefined : normaliseResourceType(c.resource);
}

function unique<T>(items: readonly (T | undefined)[]): T[] {
  return [...new Set(items.filter((i): i is T => i !== undefined))];
}

function list(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

function fail(reason: string): FilterCheck {
  return { ok: false, reason };
}
