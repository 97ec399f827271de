// Setting up what a run needs: patients, subscriptions and binding tokens, on the gateway (through
// its FHIR API, or written straight to the upstream for the gateway's start-up resync to load) and
// on the baseline (its one registration endpoint).
import { request } from 'undici';
import { benchPatient } from './patient.js';
import type { Binding } from './protocol.js';

export const TOPIC = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/patient-record-change';
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const BATCH = 500;
const CONCURRENCY = 16;

/** The R4 backport websocket Subscription every bench client holds: full-resource, one patient. */
export function benchSubscription(patient: string, status: 'requested' | 'active'): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status,
    reason: 'fan-out benchmark',
    criteria: TOPIC,
    _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: `Patient?_id=${patient}` }] },
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }] },
    },
  };
}

async function json<T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> {
  const res = await request(url, {
    method,
    headers: { accept: 'application/fhir+json', ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Runs `task` over `items` with bounded concurrency, keeping the order of results. */
async function pooled<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>, concurrency = CONCURRENCY): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** Creates each patient at `base` (the upstream itself, so no event is raised for it). */
export async function createPatients(base: string, patients: readonly string[]): Promise<void> {
  await pooled(patients, (id) => json('PUT', `${base}/Patient/${id}`, benchPatient(id, { run: 'setup', seq: 0, sentAt: 0 })));
}

/** Stores active Subscriptions straight at the upstream, in batch Bundles; returns their ids in order. */
export async function subscriptionsAtUpstream(upstream: string, patients: readonly string[]): Promise<string[]> {
  const chunks: string[][] = [];
  for (let i = 0; i < patients.length; i += BATCH) chunks.push(patients.slice(i, i + BATCH));
  const ids = await pooled(
    chunks,
    async (chunk) => {
      const bundle = { resourceType: 'Bundle', type: 'batch', entry: chunk.map((p) => ({ request: { method: 'POST', url: 'Subscription' }, resource: benchSubscription(p, 'active') })) };
      const answer = await json<{ entry?: Array<{ response?: { status?: string; location?: string } }> }>('POST', upstream, bundle);
      return (answer.entry ?? []).map((e, i) => {
        const id = /Subscription\/([^/]+)/.exec(e.response?.location ?? '')?.[1];
        if (!e.response?.status?.startsWith('201') || !id) throw new Error(`batch entry ${i} not created: ${JSON.stringify(e.response)}`);
        return id;
      });
    },
    2,
  );
  return ids.flat();
}

/** Creates Subscriptions through the gateway's own API, one request each (as clients do). */
export async function subscriptionsViaGateway(base: string, patients: readonly string[]): Promise<string[]> {
  return pooled(patients, async (p) => (await json<{ id: string }>('POST', `${base}/Subscription`, benchSubscription(p, 'requested'))).id);
}

/** One binding token per subscription, from the gateway's instance-level `$get-ws-binding-token`. */
export async function gatewayBindings(base: string, ids: readonly string[], patients: readonly string[]): Promise<Binding[]> {
  return pooled(ids, async (id, i) => {
    const answer = await json<{ parameter?: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`);
    const token = answer.parameter?.find((p) => p.name === 'token')?.valueString;
    if (!token) throw new Error(`no token for Subscription/${id}`);
    return { subscription: id, token, patient: patients[i]! };
  });
}

/** Subscriptions and tokens on the baseline, in one call per 10,000. */
export async function baselineBindings(origin: string, patients: readonly string[]): Promise<Binding[]> {
  const out: Binding[] = [];
  for (let i = 0; i < patients.length; i += 10_000) {
    const chunk = patients.slice(i, i + 10_000);
    const answer = await json<{ subscriptions: Array<{ id: string; token: string }> }>('POST', `${origin}/bench/subscriptions`, { patients: chunk });
    answer.subscriptions.forEach((s, j) => out.push({ subscription: s.id, token: s.token, patient: chunk[j]! }));
  }
  return out;
}

/** The gateway's fsg_subscriptions_active, read from /metrics. */
export async function activeSubscriptions(origin: string): Promise<number> {
  const res = await request(`${origin}/metrics`);
  const text = await res.body.text();
  return Number(/^fsg_subscriptions_active(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? NaN);
}
