// The extension URLs that carry a SubscriptionTopic inside an R4 Basic resource (backport IG 1.2.0).
// The IG has moved between prefixes (5.0 for everything, then 4.3 for the complex parts, then 5.0
// again with artifact-url/artifact-status), and fhir-candle reads 5.0 only, so readers accept all.

export const XVER_R5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.';
export const XVER_R4B = 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.';
export const ARTIFACT_URL = 'http://hl7.org/fhir/StructureDefinition/artifact-url';
export const ARTIFACT_STATUS = 'http://hl7.org/fhir/StructureDefinition/artifact-status';
export const TOPIC_PROFILE = 'http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic';
export const FHIR_TYPES = 'http://hl7.org/fhir/fhir-types';
export const TOPIC_TYPE_CODE = 'SubscriptionTopic';
