// Narrows the `unknown` a client sent to the typed JSON of subscription-types.ts, checking only
// JSON types (400 'structure'). Whether values are present, well formed or acceptable is the
// parser's business; keeping the two apart means every later step reads typed data.
import type { FhirVersion } from '../config.js';
import { SubscriptionInvalid, structure } from './subscription-invalid.js';
import type { JsonObject, R4SubscriptionJson, R5SubscriptionJson, SubscriptionObjectJson } from './subscription-types.js';

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The resource, once it is known to be a JSON object claiming to be a Subscription. */
export function readSubscriptionObject(input: unknown): SubscriptionObjectJson {
  if (!isJsonObject(input)) {
    throw structure('Subscription', `the body must be a JSON object (a Subscription resource), not ${describe(input)}`);
  }
  const type = input['resourceType'];
  if (type !== 'Subscription') {
    const what = type === undefined ? 'it is missing' : typeof type === 'string' ? `not '${type}'` : `not ${describe(type)}`;
    throw new SubscriptionInvalid(400, 'invalid', `resourceType must be 'Subscription', ${what}`, 'Subscription.resourceType');
  }
  return input as SubscriptionObjectJson;
}

export function readR4Subscription(o: SubscriptionObjectJson): R4SubscriptionJson {
  const at = 'Subscription';
  checkCommon(o, at);
  string(o, 'criteria', at);
  primitiveElement(o, '_criteria', `${at}.criteria`);
  const channel = object(o, 'channel', at);
  if (channel) {
    const ch = `${at}.channel`;
    string(channel, 'type', ch);
    primitiveElement(channel, '_type', `${ch}.type`);
    string(channel, 'endpoint', ch);
    string(channel, 'payload', ch);
    primitiveElement(channel, '_payload', `${ch}.payload`);
    extensions(channel, 'extension', ch);
    extensions(channel, 'modifierExtension', ch);
  }
  return o;
}

export function readR5Subscription(o: SubscriptionObjectJson): R5SubscriptionJson {
  const at = 'Subscription';
  checkCommon(o, at);
  string(o, 'topic', at);
  array(o, 'filterBy', at, (item, where) => {
    if (!isJsonObject(item)) throw structure(where, `${where} must be a JSON object`);
    for (const key of ['resourceType', 'filterParameter', 'comparator', 'modifier', 'value']) string(item, key, where);
    extensions(item, 'modifierExtension', where);
  });
  const channelType = object(o, 'channelType', at);
  if (channelType) for (const key of ['system', 'code']) string(channelType, key, `${at}.channelType`);
  for (const key of ['endpoint', 'contentType', 'content']) string(o, key, at);
  for (const key of ['heartbeatPeriod', 'timeout', 'maxCount']) number(o, key, at);
  return o;
}

function checkCommon(o: JsonObject, at: string): void {
  for (const key of ['id', 'status', 'end']) string(o, key, at);
  extensions(o, 'modifierExtension', at);
}

function string(o: JsonObject, key: string, at: string): void {
  const value = o[key];
  if (value !== undefined && typeof value !== 'string') {
    throw structure(`${at}.${key}`, `${at}.${key} must be a JSON string, not ${describe(value)}`);
  }
}

function number(o: JsonObject, key: string, at: string): void {
  const value = o[key];
  if (value !== undefined && typeof value !== 'number') {
    throw structure(`${at}.${key}`, `${at}.${key} must be a JSON number, not ${describe(value)}`);
  }
}

function object(o: JsonObject, key: string, at: string): JsonObject | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw structure(`${at}.${key}`, `${at}.${key} must be a JSON object, not ${describe(value)}`);
  return value;
}

function array(o: JsonObject, key: string, at: string, each: (item: unknown, where: string) => void): void {
  const value = o[key];
  if (value === undefined) return;
  if (!Array.isArray(value)) throw structure(`${at}.${key}`, `${at}.${key} must be a JSON array, not ${describe(value)}`);
  value.forEach((item, i) => each(item, `${at}.${key}[${i}]`));
}

/** `_element`: FHIR JSON's home for a primitive's extensions; `at` is the primitive's own path. */
function primitiveElement(o: JsonObject, key: string, at: string): void {
  const element = o[key];
  if (element === undefined) return;
  if (!isJsonObject(element)) throw structure(at, `${key} (the extensions of ${at}) must be a JSON object, not ${describe(element)}`);
  extensions(element, 'extension', at);
}

function extensions(o: JsonObject, key: string, at: string): void {
  array(o, key, at, (item, where) => {
    if (!isJsonObject(item)) throw structure(where, `${where} must be a JSON object (an Extension)`);
    if (typeof item['url'] !== 'string') throw structure(where, `${where} must have a url (a JSON string)`);
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * The endpoint of a rest-hook Subscription as sent (R4/R4B `channel.endpoint`, R5 `endpoint`), with
 * where it is; undefined when the body does not ask for a rest-hook channel or has no string endpoint.
 * Read before parsing, so the endpoint rule is applied to every rest-hook Subscription that is stored.
 */
export function restHookEndpoint(input: unknown, fhirVersion: FhirVersion): { endpoint: string; expression: string } | undefined {
  if (!isJsonObject(input)) return undefined;
  if (fhirVersion === 'R5') {
    const type = input['channelType'];
    const code = isJsonObject(type) ? type['code'] : undefined;
    const endpoint = input['endpoint'];
    return code === 'rest-hook' && typeof endpoint === 'string' ? { endpoint, expression: 'Subscription.endpoint' } : undefined;
  }
  const channel = input['channel'];
  if (!isJsonObject(channel) || channel['type'] !== 'rest-hook') return undefined;
  const endpoint = channel['endpoint'];
  return typeof endpoint === 'string' ? { endpoint, expression: 'Subscription.channel.endpoint' } : undefined;
}
