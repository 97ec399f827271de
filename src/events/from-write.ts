// Resource-change events from the writes the gateway's own proxy forwarded: what a server answered
// to a create, update, patch, delete, transaction or batch says which resource versions changed.
// The events are in wire form so the pipeline takes them like any producer's (on the deployment's own channel), and
// they get the default event ids wherever the version is known, so the same change reported by the
// proxy and by another producer is processed once.
import type { FhirVersion } from '../config.js';
import type { FhirResource, Interaction } from './event.js';
import { FHIR_ID, isInstant, validateEventValue, type WireEvent } from './validate.js';
import type { SeenWrite } from '../upstream/proxy.js';

/** What the proxy saw, plus the upstream base to turn absolute Location URLs into Type/id. */
export type ForwardedWrite = SeenWrite & { upstreamBase: string };

/**
 * Why a successful write yielded no event for some resource it changed. Stable: for a metric label.
 * Writes that change nothing (conditional create that matched, GET entries, searches, operations)
 * are not skips and are not reported.
 */
export type SkipReason =
  /** DELETE Type?query (or such a batch entry): which resources went is not in the answer. */
  | 'conditional-delete'
  /** The answer names no resource id (e.g. return=minimal without a Location header). */
  | 'no-identity'
  /** A transaction/batch whose response body was not kept (too large, compressed or empty). */
  | 'no-body'
  /** A transaction/batch answer that is not a transaction-response or batch-response Bundle. */
  | 'unreadable-body'
  /** A batch entry answered 200/204 whose request is unknown, so update and delete cannot be told apart. */
  | 'no-request'
  /** What the answer says does not make a valid event (e.g. a resource type this FHIR version lacks). */
  | 'invalid-event';

export interface SkippedWrite {
  reason: SkipReason;
  detail: string;
}

export interface WriteEvents {
  events: WireEvent[];
  skipped: SkippedWrite[];
}

export const CONDITIONAL_DELETE: SkipReason = 'conditional-delete';

/** The events of a forwarded write, ready to publish. */
export function eventsFromWrite(write: ForwardedWrite, version: FhirVersion): WireEvent[] {
  return analyseWrite(write, version).events;
}

/** eventsFromWrite, plus the changes it could not turn into events, for the caller to log and count. */
export function analyseWrite(write: ForwardedWrite, version: FhirVersion): WriteEvents {
  const out: WriteEvents = { events: [], skipped: [] };
  // 202 is accepted for later: nothing has changed yet, and the answer names nothing that will.
  if (write.status < 200 || write.status >= 300 || write.status === 202) return out;
  const target = parseTarget(write.path, write.upstreamBase);
  if (target.kind === 'base') {
    if (write.method === 'POST') fromBundle(write, version, out);
    return out;
  }
  if (target.kind !== 'type' && target.kind !== 'instance') return out;
  const interaction = interactionOf(write.method, write.status, target.kind);
  if (interaction === undefined) return out;
  if (interaction === 'delete' && target.kind === 'type') {
    const query = write.path.includes('?') || write.query !== '' ? '?…' : '';
    out.skipped.push({ reason: 'conditional-delete', detail: `DELETE ${target.type}${query}: the answer does not say which resources were deleted` });
    return out;
  }
  const body = parseJson(write.body);
  add(out, version, write, {
    interaction,
    type: target.type,
    id: target.id,
    resource: body,
    location: header(write.headers, 'location') ?? header(write.headers, 'content-location'),
    etag: header(write.headers, 'etag'),
    lastModified: header(write.headers, 'last-modified'),
    what: `${write.method} ${withoutQuery(write.path)}`,
  });
  return out;
}

/** What one answer (a whole response, or one entry of a batch) says about one resource. */
interface Observed {
  interaction: Interaction;
  /** From the request; undefined when the request is unknown. */
  type?: string;
  id?: string;
  /** A candidate: used only when it is the resource the request wrote. */
  resource?: unknown;
  location?: string;
  etag?: string;
  /** An HTTP date or a FHIR instant. */
  lastModified?: string;
  /** For fallback event ids: distinguishes entries of one batch received at the same instant. */
  entry?: number;
  /** For skip details. */
  what: string;
}

function add(out: WriteEvents, version: FhirVersion, write: ForwardedWrite, seen: Observed): void {
  const loc = parseLocation(seen.location, write.upstreamBase);
  // A delete's answer never holds the resource; whatever is there (an OperationOutcome) is not it.
  const candidate = seen.interaction === 'delete' ? undefined : asResource(seen.resource);
  const type = seen.type ?? candidate?.resourceType ?? loc?.type;
  const resource = candidate && candidate.resourceType === type && (seen.id === undefined || candidate.id === seen.id) ? candidate : undefined;
  const fromLocation = loc && loc.type === type && (seen.id === undefined || loc.id === seen.id) ? loc : undefined;
  const id = resource?.id ?? fromLocation?.id ?? seen.id;
  if (type === undefined || id === undefined) {
    out.skipped.push({ reason: 'no-identity', detail: `${seen.what}: the answer names no ${type ?? 'resource'} id (no body, Location or matching request URL)` });
    return;
  }
  const reference = `${type}/${id}`;
  const metaVersion = resource?.meta?.versionId;
  const versionId =
    (typeof metaVersion === 'string' && FHIR_ID.test(metaVersion) ? metaVersion : undefined) ?? (fromLocation?.id === id ? fromLocation.versionId : undefined) ?? etagVersion(seen.etag);
  const event: WireEvent = {
    interaction: seen.interaction,
    reference,
    timestamp: instantOf(resource?.meta?.lastUpdated) ?? instantOf(seen.lastModified) ?? write.receivedAt.toISOString(),
  };
  if (versionId !== undefined) event.versionId = versionId;
  // Without a version there is no id other sources would also compute; one unique to this answer
  // at least keeps each change processed once across the replicas.
  else event.eventId = `${reference}:${seen.interaction}:${write.receivedAt.toISOString()}${seen.entry === undefined ? '' : `#${seen.entry}`}`;
  // A resource whose meta.versionId is unusable would make the whole event invalid; without it the
  // pipeline reads the version from the upstream instead.
  if (resource && (metaVersion === undefined || metaVersion === versionId)) event.resource = resource;
  const checked = validateEventValue(event, { version, now: () => write.receivedAt });
  if (!checked.ok) {
    out.skipped.push({ reason: 'invalid-event', detail: `${seen.what}: ${checked.reason}: ${checked.detail}` });
    return;
  }
  out.events.push(event);
}

interface BundleJson {
  resourceType?: unknown;
  type?: unknown;
  entry?: unknown;
}

interface EntryJson {
  resource?: unknown;
  request?: { method?: unknown; url?: unknown };
  response?: { status?: unknown; location?: unknown; etag?: unknown; lastModified?: unknown };
}

function fromBundle(write: ForwardedWrite, version: FhirVersion, out: WriteEvents): void {
  if (write.body === undefined || write.body === '') {
    out.skipped.push({ reason: 'no-body', detail: `POST ${write.path || '(base)'}: the transaction/batch answer was not kept, so its changes are unknown` });
    return;
  }
  const response = parseJson(write.body) as BundleJson | undefined;
  if (response?.resourceType !== 'Bundle' || (response.type !== 'transaction-response' && response.type !== 'batch-response') || !Array.isArray(response.entry)) {
    out.skipped.push({ reason: 'unreadable-body', detail: 'POST (base): the answer is not a transaction-response or batch-response Bundle with entries' });
    return;
  }
  const responses = response.entry as unknown[];
  // Responses come in request order (FHIR http.html#transaction), so entry i answers request i; a
  // request whose entry count differs cannot be lined up and is not used at all.
  const requestEntries = (parseJson(write.requestBody) as BundleJson | undefined)?.entry;
  const requests = Array.isArray(requestEntries) && requestEntries.length === responses.length ? (requestEntries as unknown[]) : undefined;
  responses.forEach((raw, i) => {
    const entry = asObject(raw) as EntryJson | undefined;
    const answer = asObject(entry?.response) as EntryJson['response'];
    const status = parseStatus(answer?.status);
    if (status === undefined || status < 200 || status >= 300 || status === 202) return;
    const request = asObject(asObject(requests?.[i])?.request) as EntryJson['request'];
    const method = typeof request?.method === 'string' ? request.method.toUpperCase() : undefined;
    const url = typeof request?.url === 'string' ? request.url : undefined;
    const what = `entry ${i}${method ? ` (${method} ${withoutQuery(url ?? '')})` : ''}`;
    const seen: Omit<Observed, 'interaction'> = {
      resource: entry?.resource,
      location: str(answer?.location),
      etag: str(answer?.etag),
      lastModified: str(answer?.lastModified),
      entry: i,
      what,
    };
    if (method === undefined) {
      // Without the request only a 201 is unambiguous; a 200 could be an update, a delete or a read.
      if (status === 201) add(out, version, write, { ...seen, interaction: 'create' });
      else out.skipped.push({ reason: 'no-request', detail: `${what}: answered ${status}, and without its request an update cannot be told from a delete or a read` });
      return;
    }
    const target = url === undefined ? undefined : parseTarget(url, write.upstreamBase);
    const known = target?.kind === 'type' || target?.kind === 'instance' ? target : undefined;
    const interaction = interactionOf(method, status, target?.kind);
    if (interaction === undefined) return;
    if (interaction === 'delete' && known?.kind !== 'instance' && seen.location === undefined) {
      out.skipped.push(
        known?.kind === 'type'
          ? { reason: 'conditional-delete', detail: `${what}: the answer does not say which resources were deleted` }
          : { reason: 'no-identity', detail: `${what}: neither the request URL nor the answer names the deleted resource` },
      );
      return;
    }
    add(out, version, write, { ...seen, interaction, type: known?.type, id: known?.id });
  });
}

/** `kind` is undefined when a batch entry's request has no URL. */
function interactionOf(method: string, status: number, kind: Target['kind'] | undefined): Interaction | undefined {
  switch (method) {
    case 'POST':
      // Only a 201 creates: a POST answered 200 is a conditional create that found the resource
      // already there. A POST to an operation or a search is not a write this can see; one to a URL
      // this cannot read (missing, or on another base) still created something when answered 201.
      return (kind === 'type' || kind === 'foreign' || kind === undefined) && status === 201 ? 'create' : undefined;
    case 'PUT':
      if (kind === 'base' || kind === 'other') return undefined;
      return status === 201 ? 'create' : 'update';
    case 'PATCH':
      return kind === 'base' || kind === 'other' ? undefined : 'update';
    case 'DELETE':
      return kind === 'base' || kind === 'other' ? undefined : 'delete';
    default:
      return undefined;
  }
}

type Target =
  | { kind: 'base' }
  | { kind: 'type'; type: string; id?: undefined }
  | { kind: 'instance'; type: string; id: string }
  /** Operations, searches, history, compartments: nothing a write event can describe. */
  | { kind: 'other' }
  /** An absolute URL on another base: what it addresses is unknown. */
  | { kind: 'foreign' };

const TYPE = /^[A-Z][A-Za-z]+$/;

/** What a request path or a batch entry's request.url addresses. */
function parseTarget(url: string, base: string): Target {
  const q = url.indexOf('?');
  const relative = stripBase(q < 0 ? url : url.slice(0, q), base);
  if (/^[a-z][a-z0-9+.-]*:/i.test(relative)) return { kind: 'foreign' };
  const path = relative.replace(/^\/+|\/+$/g, '');
  if (path === '') return { kind: 'base' };
  const [type = '', id, ...rest] = path.split('/');
  if (!TYPE.test(type) || rest.length > 0) return { kind: 'other' };
  if (id === undefined) return { kind: 'type', type };
  return FHIR_ID.test(id) ? { kind: 'instance', type, id } : { kind: 'other' };
}

// Search parameters of conditional writes can hold patient identifiers; details go to logs.
function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}

function stripBase(url: string, base: string): string {
  const b = base.replace(/\/+$/, '');
  return b !== '' && (url === b || url.startsWith(b + '/')) ? url.slice(b.length) : url;
}

const LOCATION = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
// For an absolute URL on another base (a server that reports its public address): the last segments.
const LOCATION_TAIL = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** `Type/id[/_history/vid]`, relative or absolute, as the Location header and response.location carry it. */
function parseLocation(location: string | undefined, base: string): { type: string; id: string; versionId?: string } | undefined {
  if (location === undefined) return undefined;
  const bare = location.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const relative = stripBase(bare, base);
  const m = /^[a-z][a-z0-9+.-]*:/i.test(relative) ? LOCATION_TAIL.exec(relative) : LOCATION.exec(relative.replace(/^\/+/, ''));
  if (!m) return undefined;
  const [, type = '', id = '', versionId] = m;
  return versionId === undefined ? { type, id } : { type, id, versionId };
}

/** `W/"3"` or `"3"` → `3`: FHIR servers put the version id in the ETag. */
function etagVersion(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const m = /^\s*(?:W\/)?"([^"]*)"\s*$/.exec(etag);
  const v = m ? m[1] : etag.trim();
  return v !== undefined && FHIR_ID.test(v) ? v : undefined;
}

/** A FHIR instant as it is, or an HTTP date (Last-Modified) as an ISO instant. */
function instantOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (isInstant(value)) return value;
  // Only HTTP dates: Date.parse would also read fragments like '2026' as a time.
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** '201 Created', '200 OK', '204' → the number. */
function parseStatus(status: unknown): number | undefined {
  const m = typeof status === 'string' ? /^\s*(\d{3})\b/.exec(status) : null;
  return m ? Number(m[1]) : undefined;
}

function header(headers: ForwardedWrite['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined && first !== '') return first;
  }
  return undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asResource(value: unknown): FhirResource | undefined {
  const r = asObject(value);
  return r && typeof r.resourceType === 'string' && typeof r.id === 'string' && FHIR_ID.test(r.id) && (r.meta === undefined || asObject(r.meta)) ? (r as FhirResource) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
