// Literal reference strings: `Type/id`, `Type/id/_history/v`, and absolute URLs ending in either.
// The gateway does not know which base URLs are "this server", so an absolute reference is compared
// by its `Type/id` tail, as if every base were local.
import type { FhirVersion } from '../../config.js';
import type { FhirResource } from '../../events/event.js';
import { isResourceType } from '../search-parameters.js';

export interface ReferenceParts {
  readonly type: string;
  readonly id: string;
  readonly version?: string;
}

const TAIL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

export function parseReference(version: FhirVersion, text: string): ReferenceParts | undefined {
  const m = TAIL.exec(text);
  if (!m?.[1] || !m[2] || !isResourceType(version, m[1])) return undefined;
  return m[3] ? { type: m[1], id: m[2], version: m[3] } : { type: m[1], id: m[2] };
}

export function relative(parts: ReferenceParts): string {
  return `${parts.type}/${parts.id}`;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The resource type a Reference points at, as `resolve() is T` would see it: from the literal
 * reference, the contained resource it names, or `Reference.type`; undefined when none tells.
 */
export function referencedType(version: FhirVersion, reference: unknown, resource: FhirResource): string | undefined {
  const ref = record(reference);
  if (!ref) return undefined;
  const literal = ref['reference'];
  if (typeof literal === 'string') {
    if (literal.startsWith('#')) {
      const contained = Array.isArray(resource['contained']) ? resource['contained'] : [];
      const hit = contained.map(record).find((c) => c?.['id'] === literal.slice(1));
      const type = hit?.['resourceType'];
      return typeof type === 'string' ? type : undefined;
    }
    const parts = parseReference(version, literal);
    if (parts) return parts.type;
  }
  const declared = ref['type'];
  if (typeof declared !== 'string') return undefined;
  // Reference.type may be an absolute StructureDefinition URL.
  const name = declared.slice(declared.lastIndexOf('/') + 1);
  return isResourceType(version, name) ? name : undefined;
}
