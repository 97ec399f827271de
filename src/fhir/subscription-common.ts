// Rules every form of Subscription shares, whichever FHIR version it came in.
import type { FhirVersion } from '../config.js';
import type { Topic } from '../topics/topic.js';
import { checkFilter, type FilterRequest } from './filter-allowed.js';
import { parseFhirDateTime } from './fhir-datetime.js';
import { parseNotificationMime } from './notification-mime.js';
import type { ParseContext } from './parse-context.js';
import type { ContentLevel, SubscriptionFilter, SubscriptionStatusCode } from './subscription.js';
import { badValue, refused, required, structure } from './subscription-invalid.js';
import type { ExtensionJson } from './subscription-types.js';

const CLIENT_STATUSES: readonly string[] = ['requested', 'active', 'off'];
const SERVER_STATUSES: readonly string[] = ['error', 'entered-in-error'];
const CONTENT_LEVELS: readonly string[] = ['empty', 'id-only', 'full-resource'];
const MAX_INT = 2_147_483_647;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function parseId(id: string | undefined): string | undefined {
  if (id !== undefined && !ID.test(id)) throw badValue('Subscription.id', `id '${id}' is not a FHIR id (1-64 of A-Z a-z 0-9 - .)`);
  return id;
}

/**
 * The status the client asks for. `error` is the server's to set, and `entered-in-error` is a
 * record-keeping state, not a request; a client sends `requested`, `active` or `off`.
 */
export function parseStatus(status: string | undefined): SubscriptionStatusCode {
  const where = 'Subscription.status';
  if (status === undefined) throw required(where, 'status is required (requested, active or off)');
  if (SERVER_STATUSES.includes(status)) throw refused('value', where, `status ${status} is set by the server; a client may send requested, active or off`);
  if (!CLIENT_STATUSES.includes(status)) throw badValue(where, `status '${status}' is not a Subscription status; a client may send requested, active or off`);
  return status as SubscriptionStatusCode;
}

/** `end` is kept as sent; an end already reached would create a subscription that is born off. */
export function parseEnd(end: string | undefined, ctx: ParseContext): string | undefined {
  if (end === undefined) return undefined;
  const where = 'Subscription.end';
  const at = parseFhirDateTime(end);
  if (at === undefined) throw badValue(where, `end '${end}' is not a FHIR instant (e.g. 2026-12-31T12:00:00Z)`);
  const now = (ctx.now ?? new Date()).getTime();
  if (at <= now) throw refused('value', where, `end ${end} is in the past`);
  return end;
}

/** A modifier extension changes the meaning of what carries it; one the gateway does not know cannot be honoured. */
export function rejectModifierExtensions(extensions: readonly ExtensionJson[] | undefined, where: string): void {
  const first = extensions?.[0];
  if (first) throw refused('not-supported', `${where}.modifierExtension`, `modifierExtension ${first.url} is not supported`);
}

export function resolveTopic(canonical: string, ctx: ParseContext, where: string): Topic {
  const topic = ctx.topics.get(canonical);
  if (!topic) throw refused('not-supported', where, `unknown topic ${canonical}; the SubscriptionTopic resources of this server list the topics offered`);
  if (topic.status === 'retired') throw refused('not-supported', where, `topic ${canonical} is retired`);
  return topic;
}

export function allowedFilter(request: FilterRequest, topic: Topic, where: string): SubscriptionFilter {
  const checked = checkFilter(request, topic);
  if (!checked.ok) throw refused('not-supported', where, checked.reason);
  return checked.filter;
}

export function parseContent(code: string | undefined, fallback: ContentLevel, where: string): ContentLevel {
  if (code === undefined) return fallback;
  if (!CONTENT_LEVELS.includes(code)) throw refused('value', where, `content '${code}' is not one of ${CONTENT_LEVELS.join(', ')}`);
  return code as ContentLevel;
}

/** An absent MIME type means FHIR JSON in the server's own version. */
export function parseMime(mime: string | undefined, ctx: ParseContext, where: string): { contentType: string; notificationVersion: FhirVersion } {
  if (mime === undefined) return { contentType: 'application/fhir+json', notificationVersion: ctx.fhirVersion };
  const parsed = parseNotificationMime(mime, ctx.fhirVersion);
  if (!parsed.ok) throw refused('not-supported', where, parsed.reason);
  return { contentType: parsed.contentType, notificationVersion: parsed.notificationVersion };
}

export function unsignedInt(value: number, where: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_INT) throw badValue(where, `${where} must be an unsignedInt (a whole number from 0), not ${value}`);
  return value;
}

export function positiveInt(value: number, where: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_INT) throw badValue(where, `${where} must be a positiveInt (a whole number from 1), not ${value}`);
  return value;
}

/** A zero period would mean a heartbeat on every tick of the clock. */
export function heartbeatPeriod(value: number, where: string): number {
  if (unsignedInt(value, where) < 1) throw refused('value', where, 'the heartbeat period must be at least 1 second');
  return value;
}

/** The one extension with `url` (0..1 in every profile that uses this), or undefined. */
export function singleExtension(extensions: readonly ExtensionJson[] | undefined, url: string, where: string): ExtensionJson | undefined {
  const found = (extensions ?? []).filter((e) => e.url === url);
  if (found.length > 1) throw structure(where, `${where} is given ${found.length} times; at most once is allowed`);
  return found[0];
}

/** The value of an extension, which must be of the one type its definition allows. */
export function extensionValue<T extends 'string' | 'number'>(extension: ExtensionJson, valueKey: `value${string}`, jsType: T, where: string): T extends 'string' ? string : number {
  const value = extension[valueKey];
  if (typeof value !== jsType) {
    const sent = Object.keys(extension).find((k) => k.startsWith('value'));
    const got = sent === undefined ? 'no value' : sent === valueKey ? `a JSON ${value === null ? 'null' : typeof value}` : sent;
    throw structure(where, `${where} must carry ${valueKey}, not ${got}`);
  }
  return value as T extends 'string' ? string : number;
}

export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
