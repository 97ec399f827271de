// Notification bundles (handshake, heartbeat, event-notification, query-event) in each version's
// shape and in the Medplum WebSocket dialect. Delivery renders one bundle per subscription per event,
// so the resource text serialised once per event is spliced in, never parsed or serialised again.
import { randomUUID } from 'node:crypto';
import type { FhirVersion } from '../config.js';
import type { HttpVerb } from './bundle.js';
import { buildStatus, statusEntry, type NotificationType, type StatusEventInput } from './status.js';
import type { ContentLevel, SubscriptionStatusCode } from './subscription.js';

export const R4_NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';
export const R4B_NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification';

export type Dialect = 'spec' | 'medplum';

export interface NotificationEventInput {
  eventNumber: number;
  timestamp: string;
  /** `Encounter/123` (an absolute URL ending in `Type/id` is taken as is). */
  focusReference: string;
  interaction: 'create' | 'update' | 'delete';
  /** The resource JSON already serialised once per event by the caller (undefined for delete or when not available). Spliced into the output text as is. */
  resourceJson?: string;
  versionId?: string;
  additionalContext?: Array<{ reference: string; resourceJson?: string }>;
  /** The recipient may not read the focus: the event is rendered as in an `empty` notification
   * (its number and timestamp only), whatever the content level. */
  withheld?: boolean;
}

export interface NotificationInput {
  /** The subscription's notificationVersion; the Medplum dialect has one shape whatever the version. */
  version: FhirVersion;
  dialect: Dialect;
  type: Extract<NotificationType, 'handshake' | 'heartbeat' | 'event-notification' | 'query-event'>;
  subscriptionId: string;
  /** Builds the absolute subscription and focus URLs. */
  publicBaseUrl: string;
  /** Absent for classic criteria subscriptions. */
  topic?: string;
  status: SubscriptionStatusCode;
  content: ContentLevel;
  eventsSinceSubscriptionStart: number;
  /** Already cut to the subscription's maxCount; empty for handshake and heartbeat. */
  events: NotificationEventInput[];
  /** A random UUID when absent. */
  bundleId?: string;
  /** A random UUID when absent. */
  statusId?: string;
  /** Now when absent. */
  timestamp?: string;
}

/** The bundle as JSON text: resources spliced in without re-serialising them. */
export function renderNotification(input: NotificationInput): string {
  // The spec requires at least one notificationEvent in an event notification; an empty one here is a
  // bug in the caller, and sending it would fail every conformant client.
  if (input.type === 'event-notification' && input.events.length === 0) {
    throw new RangeError('an event-notification needs at least one event');
  }
  // Nothing the recipient may see: exactly the notification an `empty` subscription gets.
  if (input.content !== 'empty' && input.events.length > 0 && input.events.every((e) => e.withheld)) input = { ...input, content: 'empty' };
  const base = input.publicBaseUrl.replace(/\/+$/, '');
  const events = input.events.map((event) => targeted(event, base));
  const shown = events.filter((e) => !e.event.withheld);
  // Handshakes and heartbeats never carry resources, whatever the content level.
  const carriesEntries = input.type === 'event-notification' || input.type === 'query-event';
  return input.dialect === 'medplum' ? renderMedplum(input, events, shown, carriesEntries) : renderSpec(input, base, events, shown, carriesEntries);
}

interface Target {
  /** `Type/id` */
  relative: string;
  /** Absolute URL: entry.fullUrl and the spec dialect's references. */
  url: string;
  type: string;
}

interface TargetedEvent {
  event: NotificationEventInput;
  focus: Target;
  context: Array<{ target: Target; resourceJson?: string }>;
}

// `events` feed the status (every event keeps its number); `shown` (the ones not withheld) the entries.
function renderSpec(input: NotificationInput, base: string, events: TargetedEvent[], shown: TargetedEvent[], carriesEntries: boolean): string {
  const { version, content } = input;
  const subscriptionUrl = `${base}/Subscription/${input.subscriptionId}`;
  const status = buildStatus(version, {
    id: input.statusId,
    subscriptionUrl,
    topic: topicFor(input),
    status: input.status,
    type: input.type,
    eventsSinceSubscriptionStart: input.eventsSinceSubscriptionStart,
    events: events.map((e) => statusEvent(e, content, (t) => t.url)),
  });
  const entries = [JSON.stringify(statusEntry(version, status, subscriptionUrl))];
  if (carriesEntries) entries.push(...(version === 'R5' ? r5Entries(content, shown) : historyEntries(content, shown)));

  const header =
    version === 'R5'
      ? { resourceType: 'Bundle', id: input.bundleId ?? randomUUID(), type: 'subscription-notification', timestamp: input.timestamp ?? new Date().toISOString() }
      : {
          resourceType: 'Bundle',
          id: input.bundleId ?? randomUUID(),
          meta: { profile: [version === 'R4' ? R4_NOTIFICATION_PROFILE : R4B_NOTIFICATION_PROFILE] },
          type: 'history',
          timestamp: input.timestamp ?? new Date().toISOString(),
        };
  return bundleText(header, entries);
}

// History bundles need a request and response on every entry (bdl-3/bdl-4, and Inferno checks both).
// id-only entries stay, without the resource, because the IG asks for the resource URL in fullUrl
// and request; empty content allows no entry besides the status.
function historyEntries(content: ContentLevel, events: TargetedEvent[]): string[] {
  if (content === 'empty') return [];
  const full = content === 'full-resource';
  const out: string[] = [];
  // A context resource shared by several events, or equal to a focus, is listed once: what is already
  // there answers it (in full-resource only an entry that carries the resource does).
  const listed = new Set<string>();
  for (const { event, focus, context } of events) {
    const resourceJson = full && event.interaction !== 'delete' ? checked(event.resourceJson) : undefined;
    if (!full || resourceJson !== undefined) listed.add(focus.url);
    out.push(entryText(focus.url, resourceJson, changeRequest(event, focus), changeResponse(event)));
    for (const { target, resourceJson: contextJson } of context) {
      if (listed.has(target.url)) continue;
      listed.add(target.url);
      out.push(entryText(target.url, full ? checked(contextJson) : undefined, { method: 'GET', url: target.relative }, { status: '200' }));
    }
  }
  return out;
}

// R5 follows the reference implementation (fhir-candle): full-resource entries are bare
// `{fullUrl, resource}`, id-only adds none. A focus whose content cannot be included (a delete, or
// text the caller did not have) gets request/response instead, as the IG's payload rules ask.
function r5Entries(content: ContentLevel, events: TargetedEvent[]): string[] {
  if (content !== 'full-resource') return [];
  const out: string[] = [];
  // bdl-7 applies outside history bundles: one context resource shared by several events (or equal to
  // a focus) must appear once.
  const included = new Set<string>();
  for (const { event, focus, context } of events) {
    const resourceJson = event.interaction === 'delete' ? undefined : checked(event.resourceJson);
    if (resourceJson === undefined) {
      out.push(entryText(focus.url, undefined, changeRequest(event, focus), changeResponse(event)));
    } else {
      included.add(focus.url);
      out.push(entryText(focus.url, resourceJson));
    }
    for (const { target, resourceJson: contextJson } of context) {
      if (contextJson === undefined || included.has(target.url)) continue;
      included.add(target.url);
      out.push(entryText(target.url, checked(contextJson)));
    }
  }
  return out;
}

// Medplum's SubscriptionManager routes by `entry[0].resource.type` and by the id it reads as
// `subscription.reference.split('/')[1]`, so the reference must be relative; Medplum's own server
// sends an R4B-style SubscriptionStatus with no fullUrl and `{resource, fullUrl}` for the focus, and
// its apps read the changed resource at entry[1]. Entries therefore stay aligned one per event.
function renderMedplum(input: NotificationInput, events: TargetedEvent[], shown: TargetedEvent[], carriesEntries: boolean): string {
  const status = buildStatus('R4B', {
    id: input.statusId,
    subscriptionUrl: `Subscription/${input.subscriptionId}`,
    topic: topicFor(input),
    status: input.status,
    type: input.type,
    eventsSinceSubscriptionStart: input.eventsSinceSubscriptionStart,
    events: events.map((e) => statusEvent(e, input.content, (t) => t.relative)),
  });
  const entries = [JSON.stringify({ resource: status })];
  if (carriesEntries && input.content === 'full-resource') {
    for (const { event, focus } of shown) {
      // Medplum sends the deleted version too, so spliced text is used for any interaction; without
      // it the request line still tells the client what happened.
      const resourceJson = checked(event.resourceJson);
      entries.push(resourceJson === undefined ? entryText(focus.url, undefined, changeRequest(event, focus)) : `{"resource":${resourceJson},"fullUrl":${JSON.stringify(focus.url)}}`);
    }
  }
  const header = { resourceType: 'Bundle', id: input.bundleId ?? randomUUID(), type: 'history', timestamp: input.timestamp ?? new Date().toISOString() };
  return bundleText(header, entries);
}

// topic: SHOULD NOT for empty, MAY for id-only, SHOULD for full-resource.
function topicFor(input: NotificationInput): string | undefined {
  return input.content === 'empty' ? undefined : input.topic;
}

function statusEvent({ event, focus, context }: TargetedEvent, content: ContentLevel, ref: (t: Target) => string): StatusEventInput {
  const out: StatusEventInput = { eventNumber: event.eventNumber, timestamp: event.timestamp };
  if (content === 'empty' || event.withheld) return out;
  // No Reference.type: it is only asked for when the reference does not show the type, and ours do.
  out.focus = { reference: ref(focus) };
  if (context.length) out.additionalContext = context.map(({ target }) => ({ reference: ref(target) }));
  return out;
}

function changeRequest(event: NotificationEventInput, focus: Target): { method: HttpVerb; url: string } {
  switch (event.interaction) {
    case 'create':
      return { method: 'POST', url: focus.type };
    case 'update':
      return { method: 'PUT', url: focus.relative };
    case 'delete':
      return { method: 'DELETE', url: focus.relative };
  }
}

function changeResponse(event: NotificationEventInput): { status: string; etag?: string } {
  const status = event.interaction === 'create' ? '201' : event.interaction === 'update' ? '200' : '204';
  return event.versionId === undefined ? { status } : { status, etag: `W/"${event.versionId}"` };
}

function entryText(fullUrl: string, resourceJson?: string, request?: object, response?: object): string {
  let text = `{"fullUrl":${JSON.stringify(fullUrl)}`;
  if (resourceJson !== undefined) text += `,"resource":${resourceJson}`;
  if (request !== undefined) text += `,"request":${JSON.stringify(request)}`;
  if (response !== undefined) text += `,"response":${JSON.stringify(response)}`;
  return text + '}';
}

// `entry` goes last, as in the published examples, so the header's closing brace can be reopened.
function bundleText(header: object, entries: string[]): string {
  const head = JSON.stringify(header);
  return `${head.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

// Anything but an object here would make the whole frame unparseable for every subscriber; a check
// of the two ends costs nothing next to parsing the text.
function checked(resourceJson: string | undefined): string | undefined {
  if (resourceJson === undefined) return undefined;
  if (resourceJson.charCodeAt(0) !== 0x7b || resourceJson.charCodeAt(resourceJson.length - 1) !== 0x7d) {
    throw new TypeError('resourceJson must be a serialised JSON object');
  }
  return resourceJson;
}

// `Type/id`, or an absolute URL ending in it.
const REFERENCE = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\S*\/)?([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9\-.]{1,64})$/;

function target(reference: string, base: string): Target {
  const match = REFERENCE.exec(reference);
  if (!match) throw new TypeError(`'${reference}' is not a Type/id reference`);
  const [, type = '', id = ''] = match;
  const relative = `${type}/${id}`;
  return { relative, type, url: reference === relative ? `${base}/${relative}` : reference };
}

function targeted(event: NotificationEventInput, base: string): TargetedEvent {
  return {
    event,
    focus: target(event.focusReference, base),
    context: (event.additionalContext ?? []).map(({ reference: ref, resourceJson }) => ({ target: target(ref, base), resourceJson })),
  };
}
