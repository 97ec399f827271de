// A resource-change event, after validation: what ingest hands to matching. The wire schema
// (schema/resource-change-event.schema.json) is what producers publish.
import type { Interaction } from '../topics/topic.js';

/** Any FHIR resource: only the members the pipeline reads are typed. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface ResourceChangeEvent {
  /** Unique per resource version and interaction: the claim key that makes processing exactly-once. */
  eventId: string;
  interaction: Interaction;
  /** `Type/id` */
  reference: string;
  resourceType: string;
  id: string;
  versionId?: string;
  /** When the change happened (ISO 8601). */
  timestamp: string;
  /** The version the event is about; absent for delete, or until fetched from the upstream. */
  resource?: FhirResource;
  /** The version before; fetched from history only when a topic needs it. */
  previous?: FhirResource;
}

export type { Interaction };
