// Canonical URLs of the extensions the gateway reads or writes, exactly as the Subscriptions
// Backport IG, the FHIR core and the cross-version packages spell them. One place, so a typo can
// only be made once.

const BACKPORT_SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';

/** On `Subscription.criteria` (valueString, 0..*): one filter string each, ANDed. */
export const EXT_FILTER_CRITERIA = `${BACKPORT_SD}backport-filter-criteria`;
/** On `Subscription.channel.payload` (valueCode: empty | id-only | full-resource). */
export const EXT_PAYLOAD_CONTENT = `${BACKPORT_SD}backport-payload-content`;
/** On `Subscription.channel` (valueUnsignedInt, seconds). */
export const EXT_HEARTBEAT_PERIOD = `${BACKPORT_SD}backport-heartbeat-period`;
/** On `Subscription.channel` (valueUnsignedInt, seconds). */
export const EXT_TIMEOUT = `${BACKPORT_SD}backport-timeout`;
/** On `Subscription.channel` (valuePositiveInt). */
export const EXT_MAX_COUNT = `${BACKPORT_SD}backport-max-count`;
/** On `Subscription.channel.type` (valueCoding): a custom channel. */
export const EXT_CHANNEL_TYPE = `${BACKPORT_SD}backport-channel-type`;
/** Nested in a Basic-wrapped topic's notificationShape. */
export const EXT_RELATED_QUERY = `${BACKPORT_SD}backport-related-query`;
/** On `CapabilityStatement.rest.resource` for Subscription (valueCanonical): topic discovery. */
export const EXT_TOPIC_CANONICAL = `${BACKPORT_SD}capabilitystatement-subscriptiontopic-canonical`;

/**
 * Backport extensions under a FHIR-version prefix (`http://hl7.org/fhir/5.0/subscriptions-backport/…`)
 * are not the IG's; Inferno expects a server to reject a filter sent with one.
 */
export const CROSS_VERSION_BACKPORT = /^http:\/\/hl7\.org\/fhir\/\d+\.\d+\/subscriptions-backport\//;

/** 1.2.0-ballot: `Subscription.identifier` carried to R4 (valueIdentifier, 0..*). */
export const EXT_SUBSCRIPTION_IDENTIFIER = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.identifier';

/** On `CapabilityStatement.rest` (valueUri): where the server's websocket is. */
export const EXT_CAPABILITY_WEBSOCKET = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket';

// A SubscriptionTopic wrapped in an R4 Basic: its url and status, newest IG form.
export const EXT_ARTIFACT_URL = 'http://hl7.org/fhir/StructureDefinition/artifact-url';
export const EXT_ARTIFACT_STATUS = 'http://hl7.org/fhir/StructureDefinition/artifact-status';

/**
 * Prefixes of the cross-version `SubscriptionTopic.*` extensions on a Basic-wrapped topic
 * (`…extension-SubscriptionTopic.resourceTrigger` etc.). The IG has used both; readers accept both.
 */
export const TOPIC_EXTENSION_PREFIX_R5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.';
export const TOPIC_EXTENSION_PREFIX_R4B = 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.';
export const TOPIC_EXTENSION_PREFIXES: readonly string[] = [TOPIC_EXTENSION_PREFIX_R5, TOPIC_EXTENSION_PREFIX_R4B];
