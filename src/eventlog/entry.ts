// What one log entry holds, with named fields, and the check that reads it back. The event body
// (its resource) is stored once beside the log, not in every entry.
import type { Interaction } from '../topics/topic.js';

/** A FHIR resource, as far as the log cares. */
export interface LoggedResource {
  resourceType: string;
  [key: string]: unknown;
}

export interface LoggedEvent {
  /** The event id: idempotency key and the key of the stored body. */
  eventId: string;
  /** Focus reference, `Type/id`. */
  reference: string;
  interaction: Interaction;
  versionId?: string;
  /** When the change happened at the upstream (ISO 8601). */
  timestamp: string;
}

/** One event of one subscription, as the readers get it. */
export interface EventRecord extends LoggedEvent {
  /** The subscription's number for this event. */
  number: number;
  /** The focus resource, while its body is kept (absent for delete, or once expired). */
  resource?: LoggedResource;
}

const INTERACTIONS = new Set(['create', 'update', 'delete']);

export function encodeEntry(e: LoggedEvent): string {
  const entry: LoggedEvent = { eventId: e.eventId, reference: e.reference, interaction: e.interaction, timestamp: e.timestamp };
  if (e.versionId !== undefined) entry.versionId = e.versionId;
  return JSON.stringify(entry);
}

/** Null for an entry this version cannot read (written by something else): skipped, not trusted. */
export function decodeEntry(data: string): LoggedEvent | null {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.eventId !== 'string' || typeof o.reference !== 'string' || typeof o.timestamp !== 'string') return null;
  if (typeof o.interaction !== 'string' || !INTERACTIONS.has(o.interaction)) return null;
  if (o.versionId !== undefined && typeof o.versionId !== 'string') return null;
  const out: LoggedEvent = { eventId: o.eventId, reference: o.reference, interaction: o.interaction as Interaction, timestamp: o.timestamp };
  if (typeof o.versionId === 'string') out.versionId = o.versionId;
  return out;
}

/** The stored body's resource, if the body is readable. */
export function decodeBody(body: string | null): LoggedResource | undefined {
  if (!body) return undefined;
  try {
    const v = JSON.parse(body) as { resource?: unknown };
    const r = v?.resource;
    return typeof r === 'object' && r !== null && typeof (r as LoggedResource).resourceType === 'string' ? (r as LoggedResource) : undefined;
  } catch {
    return undefined;
  }
}
