// An R5 Subscription: everything the backport carries in extensions is an element here.
import type { Topic } from '../topics/topic.js';
import { isComparator } from './filter-allowed.js';
import type { ParseContext } from './parse-context.js';
import type { SubscriptionFilter, SubscriptionModel } from './subscription.js';
import {
  allowedFilter,
  compact,
  heartbeatPeriod,
  parseContent,
  parseEnd,
  parseId,
  parseMime,
  parseStatus,
  positiveInt,
  rejectModifierExtensions,
  resolveTopic,
  unsignedInt,
} from './subscription-common.js';
import { refused, required, structure } from './subscription-invalid.js';
import { readR5Subscription } from './subscription-read.js';
import { R4_ONLY_ELEMENTS, type CodingJson, type SubscriptionObjectJson, type R5FilterByJson } from './subscription-types.js';

const CHANNEL_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/subscription-channel-type';

// The R5 search-modifier-code list bound to Subscription.filterBy.modifier.
const MODIFIERS: readonly string[] = ['missing', 'exact', 'contains', 'not', 'text', 'in', 'not-in', 'below', 'above', 'type', 'identifier', 'of-type', 'code-text', 'text-advanced', 'iterate'];

export function parseR5Subscription(o: SubscriptionObjectJson, ctx: ParseContext): SubscriptionModel {
  for (const key of R4_ONLY_ELEMENTS) {
    if (o[key] !== undefined) {
      const element = key.replace(/^_/, '');
      throw structure(
        `Subscription.${element}`,
        `${element} is an element of the R4 Subscription, but this server is FHIR R5: send an R5 Subscription (topic, filterBy, channelType, contentType, content)`,
      );
    }
  }
  const s = readR5Subscription(o);
  rejectModifierExtensions(s.modifierExtension, 'Subscription');
  const id = parseId(s.id);
  const status = parseStatus(s.status);
  const end = parseEnd(s.end, ctx);
  if (s.topic === undefined) throw required('Subscription.topic', 'topic is required: the canonical URL of a SubscriptionTopic');
  const topic = resolveTopic(s.topic, ctx, 'Subscription.topic');
  const filters = (s.filterBy ?? []).map((f, i) => filterBy(f, topic, `Subscription.filterBy[${i}]`));
  checkChannelType(s.channelType);
  const { contentType, notificationVersion } = parseMime(s.contentType, ctx, 'Subscription.contentType');

  return compact<SubscriptionModel>({
    id,
    status,
    topic: s.topic,
    filters,
    channelType: 'websocket',
    endpoint: s.endpoint,
    content: parseContent(s.content, 'id-only', 'Subscription.content'),
    contentType,
    notificationVersion,
    heartbeatPeriod: s.heartbeatPeriod === undefined ? undefined : heartbeatPeriod(s.heartbeatPeriod, 'Subscription.heartbeatPeriod'),
    timeout: s.timeout === undefined ? undefined : unsignedInt(s.timeout, 'Subscription.timeout'),
    maxCount: s.maxCount === undefined ? undefined : positiveInt(s.maxCount, 'Subscription.maxCount'),
    end,
  });
}

function filterBy(f: R5FilterByJson, topic: Topic, where: string): SubscriptionFilter {
  rejectModifierExtensions(f.modifierExtension, where);
  if (f.filterParameter === undefined || f.filterParameter === '') throw required(`${where}.filterParameter`, 'filterBy.filterParameter is required');
  if (f.value === undefined || f.value === '') throw required(`${where}.value`, 'filterBy.value is required');
  const { comparator, modifier } = f;
  if (comparator !== undefined && !isComparator(comparator)) {
    throw refused('value', `${where}.comparator`, `comparator '${comparator}' is not one of eq, ne, gt, lt, ge, le, sa, eb, ap`);
  }
  if (modifier !== undefined && !MODIFIERS.includes(modifier)) {
    throw refused('value', `${where}.modifier`, `modifier '${modifier}' is not one of ${MODIFIERS.join(', ')}`);
  }
  if (comparator !== undefined && modifier !== undefined) {
    throw refused('invariant', where, 'a filterBy may have a comparator or a modifier, not both');
  }
  const request = { parameter: f.filterParameter, value: f.value, comparatorInValue: false };
  return allowedFilter(compact({ ...request, resourceType: f.resourceType, comparator, modifier }), topic, where);
}

function checkChannelType(channelType: CodingJson | undefined): void {
  const where = 'Subscription.channelType';
  if (channelType === undefined) throw required(where, 'channelType is required; supported: websocket');
  if (channelType.system !== undefined && channelType.system !== CHANNEL_TYPE_SYSTEM) {
    throw refused('not-supported', `${where}.system`, `custom channel types (${channelType.system}) are not supported; supported: ${CHANNEL_TYPE_SYSTEM}#websocket`);
  }
  if (channelType.code === undefined) throw required(`${where}.code`, 'channelType.code is required; supported: websocket');
  if (channelType.code !== 'websocket') throw refused('not-supported', `${where}.code`, `channel type ${channelType.code} is not supported; supported: websocket`);
}
