// The wire form of a resource-change event (schema/resource-change-event.schema.json) and the one
// gate every message passes before the pipeline trusts it. Producers are other teams' code: a bad
// message must come back as a reason, never as an exception, or one producer could stall the channel.
import type { FhirVersion } from '../config.js';
import { parseFhirDateTime } from '../fhir/fhir-datetime.js';
import { parseBoundedJson } from '../fhir/bounded-json.js';
import { FHIR_ID } from '../fhir/id.js';
import { isResourceType } from '../fhir/search-parameters.js';
import type { FhirResource, Interaction, ResourceChangeEvent } from './event.js';
import { markReceived } from './received-at.js';

/** What producers publish on EVENTS_CHANNEL, one JSON object per message. */
export interface WireEvent {
  /** Defaults to defaultEventId(reference, versionId, interaction). */
  eventId?: string;
  interaction: Interaction;
  /** `Type/id` */
  reference: string;
  versionId?: string;
  /** FHIR instant; defaults to resource.meta.lastUpdated, then to the time of ingest. */
  timestamp?: string;
  resource?: FhirResource;
  previous?: FhirResource;
}

/** Stable: each is a label value of the rejected-events metric. */
export const VALIDATION_REASONS = [
  'not-json',
  'not-object',
  'missing-interaction',
  'bad-interaction',
  'missing-reference',
  'bad-reference',
  'unknown-resource-type',
  'bad-event-id',
  'bad-version-id',
  'missing-version-id',
  'bad-timestamp',
  'bad-resource',
  'resource-mismatch',
  'version-mismatch',
  'bad-previous',
  'previous-mismatch',
  'too-large',
  'too-deep',
] as const;

export type ValidationReason = (typeof VALIDATION_REASONS)[number];

export type ValidationResult = { ok: true; event: ResourceChangeEvent } | { ok: false; reason: ValidationReason; detail: string };

export interface ValidateOptions {
  version: FhirVersion;
  /** The ingest clock, for events that carry no timestamp. */
  now?: () => Date;
  /** Largest message accepted; MAX_EVENT_BYTES unless given. */
  maxBytes?: number;
}

/**
 * Larger messages are rejected (`too-large`): one would hold a processing slot and memory for
 * long. A producer with resources this big sends the event without `resource`; the gateway reads it.
 */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;

const INTERACTIONS: readonly string[] = ['create', 'update', 'delete'];
const TYPE = /^[A-Z][A-Za-z]+$/;
export { FHIR_ID };
export const REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;
// A FHIR instant: seconds and a zone are required, unlike dateTime.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** Event ids become Redis keys; the bound keeps one producer from filling memory with them. */
export const MAX_EVENT_ID_LENGTH = 1024;

/**
 * The id under which the pipeline claims an event. Deterministic from the resource version, so the
 * same change reported by two sources (the proxy and a producer) is processed once.
 */
export function defaultEventId(reference: string, versionId: string, interaction: string): string {
  return `${reference}/_history/${versionId}:${interaction}`;
}

export function isInstant(value: string): boolean {
  return INSTANT.test(value) && parseFhirDateTime(value) !== undefined;
}

/** Parses and validates one pub/sub message. Never throws. */
export function validateEvent(message: string, opts: ValidateOptions): ValidationResult {
  // Too deep is decided here, before anything recurses over the event: it is a reason no retry
  // can change, and used to fail only later, in serialisation, where it was retried for 80 s.
  const parsed = parseBoundedJson(message, { maxBytes: opts.maxBytes ?? MAX_EVENT_BYTES });
  if (!parsed.ok) return fail(parsed.reason, `message is ${parsed.detail}`);
  return validateEventValue(parsed.value, opts);
}

/** validateEvent for a value already parsed (or built in process, as the proxy's events are). */
export function validateEventValue(value: unknown, opts: ValidateOptions): ValidationResult {
  if (!isObject(value)) return fail('not-object', `message must be a JSON object, got ${kind(value)}`);

  const interaction = value.interaction;
  if (absent(interaction)) return fail('missing-interaction', 'interaction is required: create, update or delete');
  if (typeof interaction !== 'string' || !INTERACTIONS.includes(interaction)) {
    return fail('bad-interaction', `interaction must be create, update or delete, got ${show(interaction)}`);
  }

  const reference = value.reference;
  if (absent(reference)) return fail('missing-reference', 'reference is required, e.g. "Encounter/123"');
  const parts = typeof reference === 'string' ? REFERENCE.exec(reference) : null;
  if (!parts) {
    return fail('bad-reference', `reference must be Type/id with a FHIR id (1-64 of A-Z a-z 0-9 - .), got ${show(reference)}`);
  }
  const [, resourceType = '', id = ''] = parts;
  if (!isResourceType(opts.version, resourceType)) {
    return fail('unknown-resource-type', `${resourceType} is not a ${opts.version} resource type`);
  }

  const eventId = value.eventId;
  if (!absent(eventId) && (typeof eventId !== 'string' || eventId.trim() === '' || eventId.length > MAX_EVENT_ID_LENGTH)) {
    return fail('bad-event-id', `eventId must be a non-blank string of at most ${MAX_EVENT_ID_LENGTH} characters, got ${show(eventId)}`);
  }

  let versionId = value.versionId;
  if (!absent(versionId) && (typeof versionId !== 'string' || !FHIR_ID.test(versionId))) {
    return fail('bad-version-id', `versionId must be a FHIR id (1-64 of A-Z a-z 0-9 - .), got ${show(versionId)}`);
  }

  const timestamp = value.timestamp;
  if (!absent(timestamp) && (typeof timestamp !== 'string' || !isInstant(timestamp))) {
    return fail('bad-timestamp', `timestamp must be a FHIR instant such as 2026-01-01T00:00:00Z, got ${show(timestamp)}`);
  }

  let resource: FhirResource | undefined;
  if (!absent(value.resource)) {
    const checked = checkResource(value.resource, resourceType, id);
    if (typeof checked === 'string') return fail(checked === 'bad' ? 'bad-resource' : 'resource-mismatch', whyNot('resource', value.resource, reference as string));
    const meta = checked.meta?.versionId;
    if (meta !== undefined && (typeof meta !== 'string' || !FHIR_ID.test(meta))) {
      return fail('bad-resource', `resource.meta.versionId must be a FHIR id, got ${show(meta)}`);
    }
    // A deleted resource has no current version. What a producer sends as `resource` on a delete is
    // most likely the last version, whose versionId is not the deletion's: checked, then ignored
    // rather than guessed to be `previous`.
    if (interaction !== 'delete') {
      resource = checked;
      if (meta !== undefined) {
        if (absent(versionId)) versionId = meta;
        else if (meta !== versionId) return fail('version-mismatch', `resource.meta.versionId ${show(meta)} differs from versionId ${show(versionId)}`);
      }
    }
  }

  let previous: FhirResource | undefined;
  if (!absent(value.previous)) {
    const checked = checkResource(value.previous, resourceType, id);
    if (typeof checked === 'string') return fail(checked === 'bad' ? 'bad-previous' : 'previous-mismatch', whyNot('previous', value.previous, reference as string));
    // A create has no prior version (topics use resultForCreate).
    if (interaction !== 'create') previous = checked;
  }

  if (absent(versionId) && absent(eventId)) {
    return fail(
      'missing-version-id',
      interaction === 'delete'
        ? 'a delete needs versionId (the version the server gave the deletion) or an eventId, so that duplicates can be recognised: add one'
        : 'versionId (or resource.meta.versionId) or eventId is required, so that duplicates can be recognised: add one',
    );
  }

  const event: ResourceChangeEvent = {
    eventId: typeof eventId === 'string' ? eventId : defaultEventId(reference as string, versionId as string, interaction),
    interaction: interaction as Interaction,
    reference: reference as string,
    resourceType,
    id,
    timestamp: typeof timestamp === 'string' ? timestamp : (lastUpdated(resource) ?? (opts.now?.() ?? new Date()).toISOString()),
  };
  if (typeof versionId === 'string') event.versionId = versionId;
  if (resource) event.resource = resource;
  if (previous) event.previous = previous;
  markReceived(event, (opts.now?.() ?? new Date()).getTime());
  return { ok: true, event };
}

type JsonObject = { [key: string]: unknown };

// Both versions must be of the resource the reference names: matching reads them as that resource.
function checkResource(value: unknown, resourceType: string, id: string): FhirResource | 'bad' | 'mismatch' {
  if (!isObject(value) || typeof value.resourceType !== 'string' || !TYPE.test(value.resourceType)) return 'bad';
  if (!absent(value.meta) && !isObject(value.meta)) return 'bad';
  if (value.resourceType !== resourceType || value.id !== id) return 'mismatch';
  return value as FhirResource;
}

function whyNot(name: string, value: unknown, reference: string): string {
  if (!isObject(value)) return `${name} must be a FHIR resource (a JSON object), got ${kind(value)}`;
  if (typeof value.resourceType !== 'string' || !TYPE.test(value.resourceType)) return `${name}.resourceType must be a resource type name, got ${show(value.resourceType)}`;
  if (!absent(value.meta) && !isObject(value.meta)) return `${name}.meta must be an object, got ${kind(value.meta)}`;
  const id = typeof value.id === 'string' ? value.id.slice(0, 80) : absent(value.id) ? '(no id)' : show(value.id);
  return `${name} is ${value.resourceType}/${id}, not the ${reference} of reference`;
}

function lastUpdated(resource: FhirResource | undefined): string | undefined {
  const at = resource?.meta?.lastUpdated;
  return typeof at === 'string' && isInstant(at) ? at : undefined;
}

// null is not absent: the schema types every member, and a producer that sends null for a version
// has a bug worth seeing rather than an event silently treated differently from what it meant.
function absent(value: unknown): value is undefined {
  return value === undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `${typeof value} ${show(value)}`;
}

/** A value for a log line: bounded, since it comes from an untrusted message. */
function show(value: unknown): string {
  if (isObject(value) || Array.isArray(value)) return Array.isArray(value) ? 'an array' : 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(reason: ValidationReason, detail: string): ValidationResult {
  return { ok: false, reason, detail };
}
