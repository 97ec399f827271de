import { request } from 'undici';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** A JSON FHIR call; `localhost` in URLs (the gateway's default public base) is dialled as 127.0.0.1. */
export async function fhir<T = Record<string, unknown>>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const res = await request(url.replace('//localhost:', '//127.0.0.1:'), {
    method: method as 'GET',
    headers: { accept: 'application/fhir+json', ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Any FHIR resource, as tests read one. */
export interface Resource {
  resourceType: string;
  id?: string;
  [key: string]: unknown;
}

/** A searchset (or other) Bundle as tests read one. */
export interface Bundle {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  entry?: Array<{ fullUrl?: string; resource: Resource; search?: { mode: string } }>;
}

export const ADMISSION = 'http://example.org/fhir/SubscriptionTopic/admission';
export const RECORD_CHANGE = 'http://example.org/fhir/SubscriptionTopic/record-change';
export const HIGH_VALUE = 'http://example.org/fhir/SubscriptionTopic/high-value';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

/** An R4 backport websocket Subscription on the test admission topic. */
export function backportSubscription(
  overrides: { topic?: string; filter?: string; content?: string; status?: string; heartbeat?: number; payload?: string; channelType?: string } = {},
): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: overrides.status ?? 'requested',
    reason: 'test',
    criteria: overrides.topic ?? ADMISSION,
    ...(overrides.filter ? { _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: overrides.filter }] } } : {}),
    channel: {
      ...(overrides.heartbeat ? { extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: overrides.heartbeat }] } : {}),
      type: overrides.channelType ?? 'websocket',
      payload: overrides.payload ?? 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: overrides.content ?? 'id-only' }] },
    },
  };
}
