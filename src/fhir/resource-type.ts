// Resource type names as they appear in criteria, filters and topics.
import { resourceTypeOf } from '../topics/resource-type.js';

/** The shape of a FHIR resource type name; whether it is a real one is a separate question. */
export const RESOURCE_TYPE_PATTERN = /^[A-Z][A-Za-z]+$/;

/**
 * Elements typed `uri` that name a resource (filterBy.resourceType, canFilterBy.resource) may hold
 * the core StructureDefinition URL instead of the bare name; both mean the same type. Anything
 * else is kept as sent, so it fails to match rather than being guessed at.
 */
export function normaliseResourceType(uri: string): string {
  return resourceTypeOf(uri) ?? uri;
}
