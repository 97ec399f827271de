// SubscriptionTopic `resource` elements are URIs: examples use both `Encounter` and
// `http://hl7.org/fhir/StructureDefinition/Encounter`. The gateway compares type names only.

const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;
// Core definitions, optionally with a FHIR version segment as in cross-version canonicals (…/fhir/5.0/…).
const CORE_DEFINITION = /^https?:\/\/hl7\.org\/fhir\/(?:\d+\.\d+\/)?StructureDefinition\/([A-Z][A-Za-z0-9]*)(?:\|.*)?$/;

/** The resource type a `resource` URI names, or undefined when it is not a core type reference. */
export function resourceTypeOf(uri: string): string | undefined {
  const s = uri.trim();
  if (TYPE_NAME.test(s)) return s;
  return CORE_DEFINITION.exec(s)?.[1];
}
