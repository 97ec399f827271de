// An R4/R4B Subscription: the backport profile (criteria = a topic canonical, filters in
// extensions) or a classic criteria search (criteria = `Type?query`, an implicit topic per type).
import { IMPLICIT_TOPIC_PREFIX } from '../topics/topic.js';
import { CROSS_VERSION_BACKPORT, EXT_CHANNEL_TYPE, EXT_FILTER_CRITERIA, EXT_HEARTBEAT_PERIOD, EXT_MAX_COUNT, EXT_PAYLOAD_CONTENT, EXT_TIMEOUT } from './extensions.js';
import { parseFilterCriteria, parseSearchCriteria } from './filter-criteria.js';
import type { ParseContext } from './parse-context.js';
import type { SubscriptionFilter, SubscriptionModel } from './subscription.js';
import {
  allowedFilter,
  compact,
  extensionValue,
  heartbeatPeriod,
  parseContent,
  parseEnd,
  parseId,
  parseMime,
  parseStatus,
  positiveInt,
  rejectModifierExtensions,
  resolveTopic,
  singleExtension,
  unsignedInt,
} from './subscription-common.js';
import { refused, required, structure } from './subscription-invalid.js';
import { readR4Subscription } from './subscription-read.js';
import { R5_ONLY_ELEMENTS, type ExtensionJson, type SubscriptionObjectJson, type R4ChannelJson } from './subscription-types.js';

const CANONICAL = /^(?:https?:\/\/|urn:)\S+$/i;

// Search parameters that shape a result page rather than select resources: a subscription has no
// result page, so they cannot mean anything in criteria.
const RESULT_PARAMETERS = new Set([
  '_format',
  '_pretty',
  '_summary',
  '_elements',
  '_count',
  '_sort',
  '_include',
  '_revinclude',
  '_contained',
  '_containedType',
  '_total',
  '_page',
  '_offset',
  '_getpages',
  '_maxresults',
  '_graph',
  '_query',
]);

export function parseR4Subscription(o: SubscriptionObjectJson, ctx: ParseContext): SubscriptionModel {
  for (const key of R5_ONLY_ELEMENTS) {
    if (o[key] !== undefined) {
      throw structure(
        `Subscription.${key}`,
        `${key} is an element of the R5 Subscription, but this server is FHIR ${ctx.fhirVersion}: ` +
          'send an R4 Subscription with the topic canonical in criteria and the details in backport extensions',
      );
    }
  }
  const s = readR4Subscription(o);
  rejectModifierExtensions(s.modifierExtension, 'Subscription');
  const id = parseId(s.id);
  const status = parseStatus(s.status);
  const end = parseEnd(s.end, ctx);
  if (s.criteria === undefined) throw required('Subscription.criteria', 'criteria is required: a topic canonical URL, or a search such as Patient?name=x');
  if (s.channel === undefined) throw required('Subscription.channel', 'channel is required (at least {"type": "websocket"})');
  const channel = s.channel;
  rejectModifierExtensions(channel.modifierExtension, 'Subscription.channel');
  checkChannelType(channel);

  const criteriaExtensions = s._criteria?.extension ?? [];
  const crossVersion = criteriaExtensions.find((e) => CROSS_VERSION_BACKPORT.test(e.url));
  if (crossVersion) {
    throw refused('not-supported', 'Subscription.criteria.extension', `extension ${crossVersion.url} is a cross-version copy, not the backport IG's; filters use ${EXT_FILTER_CRITERIA}`);
  }

  const topicBased = CANONICAL.test(s.criteria);
  const selection = topicBased ? topicSelection(s.criteria, criteriaExtensions, ctx) : criteriaSelection(s.criteria, criteriaExtensions, ctx);
  // Lenient by design: the backport profile requires channel.payload and its content extension
  // for topic-based subscriptions, but a websocket client that leaves them out plainly wants FHIR
  // JSON, and id-only is the spec's own default where content is optional (R5). Classic criteria
  // clients (Medplum) send no payload and expect the resource itself.
  const { contentType, notificationVersion } = parseMime(channel.payload, ctx, 'Subscription.channel.payload');
  const content = parseContent(payloadContent(channel), topicBased ? 'id-only' : 'full-resource', `Subscription.channel.payload.extension('${EXT_PAYLOAD_CONTENT}')`);

  return compact<SubscriptionModel>({
    id,
    status,
    topic: selection.topic,
    criteria: selection.criteria,
    filters: selection.filters,
    channelType: 'websocket',
    endpoint: channel.endpoint,
    content,
    contentType,
    notificationVersion,
    heartbeatPeriod: channelNumber(channel, EXT_HEARTBEAT_PERIOD, 'valueUnsignedInt', heartbeatPeriod),
    timeout: channelNumber(channel, EXT_TIMEOUT, 'valueUnsignedInt', unsignedInt),
    maxCount: channelNumber(channel, EXT_MAX_COUNT, 'valuePositiveInt', positiveInt),
    end,
  });
}

interface Selection {
  topic: string;
  criteria?: string;
  filters: SubscriptionFilter[];
}

function topicSelection(canonical: string, extensions: readonly ExtensionJson[], ctx: ParseContext): Selection {
  const topic = resolveTopic(canonical, ctx, 'Subscription.criteria');
  const filters: SubscriptionFilter[] = [];
  extensions.forEach((extension, i) => {
    if (extension.url !== EXT_FILTER_CRITERIA) return;
    const where = `Subscription.criteria.extension[${i}]`;
    const text = extensionValue(extension, 'valueString', 'string', where);
    const parsed = parseFilterCriteria(text);
    if (!parsed.ok) throw refused('value', where, `filter '${text}' cannot be read: ${parsed.reason}`);
    for (const criterion of parsed.filters) filters.push(allowedFilter({ ...criterion, comparatorInValue: true }, topic, where));
  });
  return { topic: canonical, filters };
}

/**
 * Classic criteria are the search a client would run. Comparator prefixes (`date=gt2020`) stay in
 * the value and no filter has a comparator: the search-parameter evaluator knows each parameter's
 * type and reads prefixes as search does.
 */
function criteriaSelection(criteria: string, extensions: readonly ExtensionJson[], ctx: ParseContext): Selection {
  const where = 'Subscription.criteria';
  const filterIndex = extensions.findIndex((e) => e.url === EXT_FILTER_CRITERIA);
  if (filterIndex >= 0) {
    throw refused('not-supported', `${where}.extension[${filterIndex}]`, 'filter-criteria extensions apply to topic-based subscriptions; with classic criteria put the search in criteria');
  }
  const parsed = parseSearchCriteria(criteria);
  if (!parsed.ok) {
    throw refused('value', where, `criteria '${criteria}' is neither a topic canonical URL (http, https or urn) nor a search such as Patient?name=x: ${parsed.reason}`);
  }
  const type = parsed.resourceType;
  if (ctx.knownResourceTypes && !ctx.knownResourceTypes.has(type)) {
    throw refused('not-supported', where, `criteria names '${type}', which is not a resource type of this FHIR ${ctx.fhirVersion} server`);
  }
  for (const filter of parsed.filters) {
    if (RESULT_PARAMETERS.has(filter.parameter)) {
      throw refused('not-supported', where, `${filter.parameter} shapes search results and is not supported in criteria`);
    }
  }
  return { topic: IMPLICIT_TOPIC_PREFIX + type, criteria, filters: parsed.filters };
}

function checkChannelType(channel: R4ChannelJson): void {
  const custom = singleExtension(channel._type?.extension, EXT_CHANNEL_TYPE, 'Subscription.channel.type');
  if (custom) {
    throw refused('not-supported', `Subscription.channel.type.extension('${EXT_CHANNEL_TYPE}')`, 'custom channel types are not supported; supported: websocket');
  }
  const where = 'Subscription.channel.type';
  if (channel.type === undefined) throw required(where, 'channel.type is required; supported: websocket');
  if (channel.type !== 'websocket') throw refused('not-supported', where, `channel type ${channel.type} is not supported; supported: websocket`);
}

function payloadContent(channel: R4ChannelJson): string | undefined {
  const where = `Subscription.channel.payload.extension('${EXT_PAYLOAD_CONTENT}')`;
  const extension = singleExtension(channel._payload?.extension, EXT_PAYLOAD_CONTENT, where);
  return extension && extensionValue(extension, 'valueCode', 'string', where);
}

function channelNumber(channel: R4ChannelJson, url: string, valueKey: `value${string}`, check: (value: number, where: string) => number): number | undefined {
  const where = `Subscription.channel.extension('${url}')`;
  const extension = singleExtension(channel.extension, url, where);
  return extension && check(extensionValue(extension, valueKey, 'number', where), where);
}
