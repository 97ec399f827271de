// The Subscription entries of a transaction or batch Bundle, and what the server's response says
// about each. Pure: the write path (http/bundle-writes.ts) validates the entries found here like
// direct writes, forwards the Bundle, and hands the answers to the registry.
//
// An entry is a Subscription entry when its request.url addresses Subscription (relative, on one of
// the given bases, or an absolute URL whose path ends in Subscription[/id]) or its resource is a
// Subscription. Reads, searches and operations are not writes and are left to the upstream.
import { isJsonObject } from './subscription-read.js';

export type SubscriptionEntry = { index: number; op: 'create'; resource: unknown } | { index: number; op: 'update'; id: string; resource: unknown } | { index: number; op: 'delete'; id: string };

/** Why a Bundle is refused before anything reaches the upstream; `expression` names the entry. */
export interface EntryRefusal {
  status: 400 | 422;
  code: 'structure' | 'required' | 'invalid' | 'not-supported';
  message: string;
  expression: string;
}

export type BundleScan =
  /** Not a transaction or batch Bundle (or none of its entries is a Subscription write). */
  { kind: 'none' } | { kind: 'subscriptions'; bundleType: 'transaction' | 'batch'; entries: SubscriptionEntry[] } | { kind: 'refused'; refusal: EntryRefusal };

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export const entryPath = (index: number) => `Bundle.entry[${index}]`;

/** Finds the Subscription writes of a transaction or batch; refuses PATCH and conditional forms. */
export function scanBundle(input: unknown, bases: readonly string[]): BundleScan {
  if (!isJsonObject(input) || input['resourceType'] !== 'Bundle') return { kind: 'none' };
  const bundleType = input['type'];
  if (bundleType !== 'transaction' && bundleType !== 'batch') return { kind: 'none' };
  const entries = input['entry'];
  if (!Array.isArray(entries)) return { kind: 'none' };
  const found: SubscriptionEntry[] = [];
  for (let index = 0; index < entries.length; index++) {
    const at = entryPath(index);
    const entry = entries[index] as unknown;
    if (!isJsonObject(entry)) continue;
    const request = isJsonObject(entry['request']) ? entry['request'] : undefined;
    const resource = entry['resource'];
    const isSubscription = isJsonObject(resource) && resource['resourceType'] === 'Subscription';
    const method = typeof request?.['method'] === 'string' ? request['method'].toUpperCase() : undefined;
    const url = typeof request?.['url'] === 'string' ? request['url'] : undefined;
    const target = url === undefined ? undefined : subscriptionTarget(url, bases);
    const refuse = (status: 400 | 422, code: EntryRefusal['code'], message: string, where = at): BundleScan => ({
      kind: 'refused',
      refusal: { status, code, message: `${at}: ${message}`, expression: where },
    });

    if (!target) {
      if (isSubscription && method !== undefined && method !== 'GET' && method !== 'HEAD') {
        return refuse(400, 'invalid', `a Subscription must be written at Subscription (request.url is ${JSON.stringify(url ?? '')})`, `${at}.request.url`);
      }
      if (isSubscription && method === undefined) return refuse(400, 'required', 'an entry with a Subscription needs request.method and request.url', `${at}.request`);
      continue;
    }
    if (method === undefined || method === 'GET' || method === 'HEAD' || target.kind === 'other') continue;
    const conditional = target.query || request?.['ifNoneExist'] !== undefined;
    if (method === 'PATCH')
      return refuse(422, 'not-supported', 'PATCH of a Subscription is not supported by the gateway: send the whole resource with PUT, so it can be validated', `${at}.request.method`);
    if (conditional || (method !== 'POST' && target.kind === 'type')) {
      return refuse(422, 'not-supported', 'conditional writes of Subscription are not supported by the gateway: address the Subscription by id', `${at}.request`);
    }
    if (method === 'POST') {
      if (target.kind !== 'type') continue; // POST Subscription/x is not a write the server accepts
      if (resource === undefined) return refuse(400, 'required', 'a POST of a Subscription needs the resource', `${at}.resource`);
      found.push({ index, op: 'create', resource });
    } else if (method === 'PUT') {
      if (resource === undefined) return refuse(400, 'required', 'a PUT of a Subscription needs the resource', `${at}.resource`);
      if (isJsonObject(resource) && resource['id'] !== target.id) {
        return refuse(400, 'invalid', `Subscription.id (${JSON.stringify(resource['id'])}) must match the id in request.url (${target.id})`, `${at}.resource.id`);
      }
      found.push({ index, op: 'update', id: target.id!, resource });
    } else if (method === 'DELETE') {
      found.push({ index, op: 'delete', id: target.id! });
    }
  }
  return found.length === 0 ? { kind: 'none' } : { kind: 'subscriptions', bundleType, entries: found };
}

type Target = { kind: 'type' | 'instance' | 'other'; id?: string; query: boolean };

/** What request.url addresses, when it is Subscription (type, instance, or something below it). */
function subscriptionTarget(url: string, bases: readonly string[]): Target | undefined {
  const q = url.indexOf('?');
  const query = q >= 0;
  let path = query ? url.slice(0, q) : url;
  for (const base of bases) {
    const b = base.replace(/\/+$/, '');
    if (path.toLowerCase() === b.toLowerCase() || path.toLowerCase().startsWith(`${b.toLowerCase()}/`)) {
      path = path.slice(b.length);
      break;
    }
  }
  if (/^urn:/i.test(path)) return undefined;
  // Some other absolute URL: the server may still take it as its own, so judge it by its path.
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
    const at = path.split('/').findIndex((s, i, all) => decode(s) === 'Subscription' && all.length - i <= 2);
    if (at < 0) return undefined;
    path = path.split('/').slice(at).join('/');
  }
  const segments = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map(decode);
  if (segments[0] !== 'Subscription') return undefined;
  if (segments.length === 1) return { kind: 'type', query };
  const id = segments[1]!;
  if (segments.length === 2 && ID.test(id) && !id.startsWith('_')) return { kind: 'instance', id, query };
  return { kind: 'other', query };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** One entry of a transaction-response or batch-response, as far as it can be read. */
export interface EntryAnswer {
  status: number | undefined;
  /** The stored Subscription's id, from response.location or the returned resource. */
  id: string | undefined;
}

/** The answers in request order, or undefined when the response is not a readable *-response Bundle. */
export function readBundleResponse(input: unknown): EntryAnswer[] | undefined {
  if (!isJsonObject(input) || input['resourceType'] !== 'Bundle') return undefined;
  if (input['type'] !== 'transaction-response' && input['type'] !== 'batch-response') return undefined;
  const entries = input['entry'];
  if (!Array.isArray(entries)) return undefined;
  return entries.map((raw: unknown) => {
    const entry = isJsonObject(raw) ? raw : {};
    const response = isJsonObject(entry['response']) ? entry['response'] : {};
    const status = typeof response['status'] === 'string' ? /^\s*(\d{3})\b/.exec(response['status'])?.[1] : undefined;
    const resource = isJsonObject(entry['resource']) ? entry['resource'] : undefined;
    const fromResource = resource?.['resourceType'] === 'Subscription' && typeof resource['id'] === 'string' ? resource['id'] : undefined;
    const location = typeof response['location'] === 'string' ? response['location'] : undefined;
    return { status: status === undefined ? undefined : Number(status), id: fromResource ?? subscriptionIdFromLocation(location) };
  });
}

/** `…/Subscription/<id>[/_history/<vid>]` → id, from a Location header or response.location. */
export function subscriptionIdFromLocation(location: string | undefined): string | undefined {
  const match = /(?:^|\/)Subscription\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec((location ?? '').replace(/[?#].*$/, ''));
  return match?.[1];
}
