// The status resource of one subscription in each version's shape: what `$status` answers and what
// every notification bundle leads with.
import { randomUUID } from 'node:crypto';
import type { FhirVersion } from '../config.js';
import { searchsetBundle, urnUuid, type Bundle, type BundleEntry } from './bundle.js';
import type { SubscriptionStatusCode } from './subscription.js';

export const R4_STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

export interface Reference {
  reference: string;
  type?: string;
}

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface CodeableConcept {
  coding: Coding[];
}

export interface StatusEventInput {
  eventNumber: number;
  timestamp?: string;
  focus?: Reference;
  additionalContext?: Reference[];
}

export interface StatusInput {
  /** Absolute: `<publicBase>/Subscription/<id>` (relative only for dialects that want it). */
  subscriptionUrl: string;
  topic?: string;
  status: SubscriptionStatusCode;
  type: NotificationType;
  eventsSinceSubscriptionStart: number;
  events?: StatusEventInput[];
  error?: Coding[];
  /** A random UUID when absent. */
  id?: string;
}

export type R4EventPart =
  | { name: 'event-number'; valueString: string }
  | { name: 'timestamp'; valueInstant: string }
  | { name: 'focus'; valueReference: Reference }
  | { name: 'additional-context'; valueReference: Reference };

export type R4StatusParameter =
  | { name: 'subscription'; valueReference: Reference }
  | { name: 'topic'; valueCanonical: string }
  | { name: 'status'; valueCode: SubscriptionStatusCode }
  | { name: 'type'; valueCode: NotificationType }
  | { name: 'events-since-subscription-start'; valueString: string }
  | { name: 'notification-event'; part: R4EventPart[] }
  | { name: 'error'; valueCodeableConcept: CodeableConcept };

/** R4 backport `backport-subscription-status-r4`. */
export interface R4StatusParameters {
  resourceType: 'Parameters';
  id: string;
  meta: { profile: string[] };
  parameter: R4StatusParameter[];
}

export interface NotificationEvent {
  eventNumber: string;
  timestamp?: string;
  focus?: Reference;
  additionalContext?: Reference[];
}

/** R4B and R5 SubscriptionStatus: the JSON is the same because R5's integer64 is a JSON string. */
export interface SubscriptionStatusResource {
  resourceType: 'SubscriptionStatus';
  id: string;
  status: SubscriptionStatusCode;
  type: NotificationType;
  eventsSinceSubscriptionStart: string;
  notificationEvent?: NotificationEvent[];
  subscription: Reference;
  topic?: string;
  error?: CodeableConcept[];
}

export type StatusResource = R4StatusParameters | SubscriptionStatusResource;

export function buildStatus(version: 'R4', input: StatusInput): R4StatusParameters;
export function buildStatus(version: 'R4B' | 'R5', input: StatusInput): SubscriptionStatusResource;
export function buildStatus(version: FhirVersion, input: StatusInput): StatusResource;
export function buildStatus(version: FhirVersion, input: StatusInput): StatusResource {
  return version === 'R4' ? r4Status(input) : subscriptionStatus(version, input);
}

/**
 * The `$status` answer. `version` guards against handing one version's resources to another's
 * caller; `subscriptionUrl` is accepted for symmetry with `statusEntry` (searchset entries need no
 * request line).
 */
export function buildStatusSearchBundle(version: FhirVersion, statuses: Array<{ status: StatusResource; subscriptionUrl?: string }>, selfUrl: string): Bundle<StatusResource> {
  return searchsetBundle(
    statuses.map(({ status }) => ({ fullUrl: urnUuid(checked(version, status).id), resource: status })),
    selfUrl,
  );
}

/**
 * The leading entry of a notification or `$events` bundle. R4/R4B history bundles need a request and
 * response on every entry, and the request must read as a `$status` call on the subscription;
 * R5 subscription-notification bundles carry none.
 */
export function statusEntry<S extends StatusResource>(version: FhirVersion, status: S, subscriptionUrl: string): BundleEntry<S> {
  const entry: BundleEntry<S> = { fullUrl: urnUuid(checked(version, status).id), resource: status };
  if (version === 'R5') return entry;
  entry.request = { method: 'GET', url: `${subscriptionUrl.replace(/\/+$/, '')}/$status` };
  entry.response = { status: '200' };
  return entry;
}

function r4Status(input: StatusInput): R4StatusParameters {
  const parameter: R4StatusParameter[] = [{ name: 'subscription', valueReference: { reference: input.subscriptionUrl } }];
  if (input.topic !== undefined) parameter.push({ name: 'topic', valueCanonical: input.topic });
  parameter.push(
    { name: 'status', valueCode: backportStatus(input.status) },
    { name: 'type', valueCode: input.type },
    { name: 'events-since-subscription-start', valueString: counter(input.eventsSinceSubscriptionStart, 'eventsSinceSubscriptionStart') },
  );
  for (const event of input.events ?? []) {
    const part: R4EventPart[] = [{ name: 'event-number', valueString: counter(event.eventNumber, 'eventNumber') }];
    if (event.timestamp !== undefined) part.push({ name: 'timestamp', valueInstant: event.timestamp });
    if (event.focus) part.push({ name: 'focus', valueReference: reference(event.focus) });
    for (const context of event.additionalContext ?? []) part.push({ name: 'additional-context', valueReference: reference(context) });
    parameter.push({ name: 'notification-event', part });
  }
  for (const coding of input.error ?? []) parameter.push({ name: 'error', valueCodeableConcept: concept(coding) });
  return { resourceType: 'Parameters', id: input.id ?? randomUUID(), meta: { profile: [R4_STATUS_PROFILE] }, parameter };
}

function subscriptionStatus(version: 'R4B' | 'R5', input: StatusInput): SubscriptionStatusResource {
  // Key order follows the published examples so rendered JSON reads the same.
  return {
    resourceType: 'SubscriptionStatus',
    id: input.id ?? randomUUID(),
    status: version === 'R5' ? input.status : backportStatus(input.status),
    type: input.type,
    eventsSinceSubscriptionStart: counter(input.eventsSinceSubscriptionStart, 'eventsSinceSubscriptionStart'),
    ...(input.events?.length ? { notificationEvent: input.events.map(notificationEvent) } : {}),
    subscription: { reference: input.subscriptionUrl },
    ...(input.topic !== undefined ? { topic: input.topic } : {}),
    ...(input.error?.length ? { error: input.error.map(concept) } : {}),
  };
}

function notificationEvent(event: StatusEventInput): NotificationEvent {
  const out: NotificationEvent = { eventNumber: counter(event.eventNumber, 'eventNumber') };
  if (event.timestamp !== undefined) out.timestamp = event.timestamp;
  if (event.focus) out.focus = reference(event.focus);
  if (event.additionalContext?.length) out.additionalContext = event.additionalContext.map(reference);
  return out;
}

// R4 and R4B bind status to requested|active|error|off (required); `entered-in-error` only exists
// from R5 on, and a subscription in that state delivers nothing, which is what `off` says.
function backportStatus(status: SubscriptionStatusCode): SubscriptionStatusCode {
  return status === 'entered-in-error' ? 'off' : status;
}

// Counters travel as strings in every version; a non-integer here is a bug upstream of the builder,
// and writing "NaN" or "1.5" into a notification would only move the failure to every client.
function counter(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer (got ${n})`);
  return String(n);
}

function reference(ref: Reference): Reference {
  return ref.type === undefined ? { reference: ref.reference } : { reference: ref.reference, type: ref.type };
}

function concept(coding: Coding): CodeableConcept {
  const out: Coding = { system: coding.system, code: coding.code };
  if (coding.display !== undefined) out.display = coding.display;
  return { coding: [out] };
}

function checked<S extends StatusResource>(version: FhirVersion, status: S): S {
  const expected = version === 'R4' ? 'Parameters' : 'SubscriptionStatus';
  if (status.resourceType !== expected) throw new TypeError(`a ${version} status is a ${expected}, not a ${status.resourceType}`);
  return status;
}
