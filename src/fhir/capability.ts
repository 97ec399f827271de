// The gateway's /metadata: the upstream's CapabilityStatement with what the gateway itself serves
// (Subscriptions, their operations, topics, the websocket channel) declared on top, in the shape the
// backport IG's server CapabilityStatements (R4, R4B) or R5 core expect.
import type { FhirVersion } from '../config.js';
import { IMPLICIT_TOPIC_PREFIX } from '../topics/topic.js';
import { EXT_CAPABILITY_WEBSOCKET, EXT_TOPIC_CANONICAL } from './extensions.js';

/** The upstream's answer is not a CapabilityStatement the gateway can extend (callers answer 502). */
export class CapabilityStatementError extends Error {
  override name = 'CapabilityStatementError';
}

export interface CapabilityOptions {
  version: FhirVersion;
  /** Canonical URLs of the topics clients may subscribe to. */
  topicUrls: string[];
  /** ws(s)://host/ws */
  websocketUrl: string;
  publicBaseUrl: string;
}

type Json = { [key: string]: unknown };

export interface ExtensionJson extends Json {
  url: string;
}

export interface RestResourceJson extends Json {
  type: string;
  extension?: ExtensionJson[];
  supportedProfile?: string[];
  interaction?: Array<{ code: string } & Json>;
  searchParam?: Array<{ name: string; type: string; definition?: string } & Json>;
  operation?: Array<{ name: string; definition: string } & Json>;
}

export interface RestJson extends Json {
  mode: string;
  extension?: ExtensionJson[];
  resource?: RestResourceJson[];
}

export interface CapabilityStatementJson extends Json {
  resourceType: 'CapabilityStatement';
  instantiates?: string[];
  implementation: { url: string; description?: string } & Json;
  rest: RestJson[];
}

export const BACKPORT_SUBSCRIPTION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport';
const CORE_SEARCH = 'http://hl7.org/fhir/SearchParameter';

const INSTANTIATES: Partial<Record<FhirVersion, string>> = {
  R4: `${BACKPORT}/CapabilityStatement/backport-subscription-server-r4`,
  R4B: `${BACKPORT}/CapabilityStatement/backport-subscription-server`,
};

interface SearchParamDecl {
  name: string;
  type: string;
  definition: string;
}

const SUBSCRIPTION_SEARCH: SearchParamDecl[] = [
  { name: 'url', type: 'uri', definition: `${CORE_SEARCH}/Subscription-url` },
  { name: 'status', type: 'token', definition: `${CORE_SEARCH}/Subscription-status` },
];

// R4/R4B Subscription has no topic or filter elements of its own, so the IG defines these over its
// extensions; R5 core covers the same ground with its own parameters.
const BACKPORT_SUBSCRIPTION_SEARCH: SearchParamDecl[] = [
  { name: 'topic', type: 'string', definition: `${BACKPORT}/SearchParameter/Subscription-topic` },
  { name: 'filter-criteria', type: 'string', definition: `${BACKPORT}/SearchParameter/Subscription-filter-criteria` },
  { name: 'payload-type', type: 'token', definition: `${BACKPORT}/SearchParameter/Subscription-payload-type` },
  { name: 'custom-channel', type: 'token', definition: `${BACKPORT}/SearchParameter/Subscription-custom-channel` },
];

const TOPIC_SEARCH: SearchParamDecl[] = [
  { name: 'url', type: 'uri', definition: `${CORE_SEARCH}/SubscriptionTopic-url` },
  { name: 'derived-or-self', type: 'uri', definition: `${CORE_SEARCH}/SubscriptionTopic-derived-or-self` },
  { name: 'resource', type: 'uri', definition: `${CORE_SEARCH}/SubscriptionTopic-resource` },
  { name: 'title', type: 'string', definition: `${CORE_SEARCH}/SubscriptionTopic-title` },
  { name: 'trigger-description', type: 'string', definition: `${CORE_SEARCH}/SubscriptionTopic-trigger-description` },
  { name: 'status', type: 'token', definition: `${CORE_SEARCH}/SubscriptionTopic-status` },
];

const BASIC_SEARCH: SearchParamDecl[] = [{ name: 'code', type: 'token', definition: `${CORE_SEARCH}/Basic-code` }];

// Names without `$`, as the backport IG writes them from 1.2.0 on.
const OPERATIONS: Record<'backport' | 'core', Array<{ name: string; definition: string }>> = {
  backport: [
    { name: 'status', definition: `${BACKPORT}/OperationDefinition/backport-subscription-status` },
    { name: 'events', definition: `${BACKPORT}/OperationDefinition/backport-subscription-events` },
    { name: 'get-ws-binding-token', definition: `${BACKPORT}/OperationDefinition/backport-subscription-get-ws-binding-token` },
  ],
  core: [
    { name: 'status', definition: 'http://hl7.org/fhir/OperationDefinition/Subscription-status' },
    { name: 'events', definition: 'http://hl7.org/fhir/OperationDefinition/Subscription-events' },
    { name: 'get-ws-binding-token', definition: 'http://hl7.org/fhir/OperationDefinition/Subscription-get-ws-binding-token' },
  ],
};

const SUBSCRIPTION_INTERACTIONS = ['read', 'create', 'update', 'delete', 'search-type'];
const DISCOVERY_INTERACTIONS = ['read', 'search-type'];

const IMPLEMENTATION_DESCRIPTION = 'FHIR server with topic-based Subscriptions over WebSockets (fhir-subscription-gateway)';

/** A deep copy of the upstream's CapabilityStatement, extended with what the gateway serves. */
export function augmentCapabilityStatement(upstream: unknown, opts: CapabilityOptions): CapabilityStatementJson {
  if (!isObject(upstream) || upstream.resourceType !== 'CapabilityStatement') {
    throw new CapabilityStatementError('upstream metadata is not a CapabilityStatement');
  }
  const cs = structuredClone(upstream);
  const backport = opts.version !== 'R5';

  const rests = objects(cs, 'rest', 'rest');
  let rest = rests.find((r) => r.mode === 'server');
  if (!rest) rests.push((rest = { mode: 'server' }));
  const restPath = `rest[${rests.indexOf(rest)}]`;
  replaceExtensions(rest, EXT_CAPABILITY_WEBSOCKET, [{ url: EXT_CAPABILITY_WEBSOCKET, valueUri: opts.websocketUrl }], restPath);

  const resources = objects(rest, 'resource', `${restPath}.resource`);
  const entry = (type: string): [Json, string] => {
    let found = resources.find((r) => r.type === type);
    if (!found) resources.push((found = { type }));
    return [found, `${restPath}.resource[${resources.indexOf(found)}]`];
  };

  const [subscription, subscriptionPath] = entry('Subscription');
  // Topic discovery lists the gateway's topics only: it owns Subscriptions, so topics the upstream
  // advertised for its own engine are not subscribable here. The extension is kept for R5 too:
  // R5 has no core element for it, its context exists unchanged in R5, and backport-era clients
  // look for it.
  const topics = [...new Set(opts.topicUrls)].filter((url) => !url.startsWith(IMPLICIT_TOPIC_PREFIX));
  replaceExtensions(
    subscription,
    EXT_TOPIC_CANONICAL,
    topics.map((valueCanonical) => ({ url: EXT_TOPIC_CANONICAL, valueCanonical })),
    subscriptionPath,
  );
  if (backport) addStrings(subscription, 'supportedProfile', [BACKPORT_SUBSCRIPTION_PROFILE], subscriptionPath);
  addInteractions(subscription, SUBSCRIPTION_INTERACTIONS, subscriptionPath);
  // The gateway refuses these so that every Subscription it stores has been validated whole.
  removeInteractions(subscription, ['patch'], subscriptionPath);
  addSearchParams(subscription, backport ? [...SUBSCRIPTION_SEARCH, ...BACKPORT_SUBSCRIPTION_SEARCH] : SUBSCRIPTION_SEARCH, subscriptionPath);
  replaceOperations(subscription, OPERATIONS[backport ? 'backport' : 'core'], subscriptionPath);

  if (opts.version === 'R4') {
    // R4 has no SubscriptionTopic resource; the IG (1.2.0) carries topics in Basic.
    const [basic, basicPath] = entry('Basic');
    addInteractions(basic, DISCOVERY_INTERACTIONS, basicPath);
    addSearchParams(basic, BASIC_SEARCH, basicPath);
  } else {
    const [topic, topicPath] = entry('SubscriptionTopic');
    addInteractions(topic, DISCOVERY_INTERACTIONS, topicPath);
    addSearchParams(topic, TOPIC_SEARCH, topicPath);
  }

  const instantiates = INSTANTIATES[opts.version];
  if (instantiates) addStrings(cs, 'instantiates', [instantiates], '');

  // The upstream's own address must not reach clients, who only ever talk to the gateway.
  if (cs.implementation === undefined) cs.implementation = { description: IMPLEMENTATION_DESCRIPTION };
  if (!isObject(cs.implementation)) throw shapeError('implementation', 'an object');
  cs.implementation.url = opts.publicBaseUrl;

  return cs as CapabilityStatementJson;
}

function addInteractions(resource: Json, codes: string[], where: string): void {
  const list = objects(resource, 'interaction', `${where}.interaction`);
  for (const code of codes) if (!list.some((i) => i.code === code)) list.push({ code });
}

function removeInteractions(resource: Json, codes: string[], where: string): void {
  resource.interaction = objects(resource, 'interaction', `${where}.interaction`).filter((i) => !codes.includes(i.code as string));
  if (resource.conditionalUpdate === true) resource.conditionalUpdate = false;
  if (typeof resource.conditionalDelete === 'string' && resource.conditionalDelete !== 'not-supported') resource.conditionalDelete = 'not-supported';
}

// An upstream entry of the same name stays as it is: it may carry documentation, and its meaning
// matches ours (the canonical parameters share names with what the gateway declares).
function addSearchParams(resource: Json, params: SearchParamDecl[], where: string): void {
  const list = objects(resource, 'searchParam', `${where}.searchParam`);
  for (const p of params) if (!list.some((s) => s.name === p.name)) list.push({ ...p });
}

// The gateway answers these operations itself, so an upstream declaration under the same name (the
// name is what the URL carries, with or without its `$`) describes something clients never reach.
function replaceOperations(resource: Json, ops: Array<{ name: string; definition: string }>, where: string): void {
  const names = new Set(ops.map((o) => o.name));
  const kept = objects(resource, 'operation', `${where}.operation`).filter((o) => !(typeof o.name === 'string' && names.has(o.name.replace(/^\$/, ''))));
  resource.operation = [...kept, ...ops.map((o) => ({ ...o }))];
}

function replaceExtensions(holder: Json, url: string, replacements: ExtensionJson[], where: string): void {
  const list = [...objects(holder, 'extension', `${where}.extension`).filter((e) => e.url !== url), ...replacements];
  // FHIR JSON forbids empty arrays.
  if (list.length) holder.extension = list;
  else delete holder.extension;
}

function addStrings(holder: Json, key: string, values: string[], where: string): void {
  const path = where ? `${where}.${key}` : key;
  const raw = holder[key] ?? [];
  if (!Array.isArray(raw) || !raw.every((v): v is string => typeof v === 'string')) throw shapeError(path, 'a list of strings');
  holder[key] = [...raw, ...values.filter((v) => !raw.includes(v))];
}

// The list under `key`, attached to the holder, after checking every item is an object.
function objects(holder: Json, key: string, path: string): Json[] {
  const raw = holder[key];
  if (raw === undefined) return (holder[key] = []);
  if (!Array.isArray(raw) || !raw.every(isObject)) throw shapeError(path, 'a list of objects');
  return raw;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shapeError(path: string, expected: string): CapabilityStatementError {
  return new CapabilityStatementError(`upstream CapabilityStatement.${path} is not ${expected}`);
}
