// The event log under faults, with a real redis-server stopped and started again, gateways on it,
// the demo upstream and a real WebSocket client counting every notification it receives.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startHttpServer } from '../support/http-server.js';
import { allNumbers, notifiedEvents } from '../support/notifications.js';
import { startRestartableRedis, type RestartableRedis } from '../support/redis-restartable.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient, notificationType } from '../support/ws-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CHANNEL = 'fault-events';

interface Issue {
  code: string;
  diagnostics?: string;
  details?: { coding?: Array<{ code: string }> };
  expression?: string[];
}
const issuesOf = (f: Record<string, unknown>): Issue[] => (f.resourceType === 'OperationOutcome' ? (f.issue as Issue[]) : []);
const isEventsLost = (f: Record<string, unknown>) => issuesOf(f).some((i) => i.details?.coding?.some((c) => c.code === 'events-lost'));

/** A pass-through to the upstream that answers version reads (`…/_history/<v>`) 150 ms late. */
async function slowVersionReads(upstreamUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(upstreamUrl);
  const server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (/\/_history\/[^/?]+$/.test(req.url ?? '')) await sleep(150);
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'accept', 'authorization', 'if-match']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
        const r = await request(`${target.origin}${req.url}`, { method: req.method as 'GET', headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.headers))
          if (typeof v === 'string' && ['content-type', 'location', 'etag', 'last-modified'].includes(k)) out[k] = v.replace(target.origin, `http://127.0.0.1:${port}`);
        const body = Buffer.from(await r.body.arrayBuffer());
        res.writeHead(r.statusCode, out).end(body);
      })().catch(() => res.writeHead(502).end());
    });
  });
  const port = new URL(server.url).port;
  return { url: `${server.url}${target.pathname}`, close: server.close };
}

describe('event log faults (real redis-server restarts, Redis engine)', function () {
  this.timeout(90_000);
  let upstream: DemoUpstream;
  let redis: RestartableRedis | undefined;
  const gateways: Gateway[] = [];
  const clients: WsClient[] = [];
  const publishers: Redis[] = [];
  const closers: Array<() => Promise<void>> = [];

  // A fresh upstream per test: subscriptions an earlier test left there would make a fresh Redis
  // look like one that lost its state (see src/eventlog/epoch.ts).
  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of publishers.splice(0)) p.disconnect();
    for (const g of gateways.splice(0)) await g.close();
    for (const c of closers.splice(0)) await c();
    await redis?.destroy();
    redis = undefined;
    await upstream.close();
  });

  async function gateway(r: RestartableRedis, upstreamUrl = upstream.url): Promise<Gateway> {
    // These tests are about numbering: the burst announces resources the upstream does not hold, which
    // delivery authorization (test/access) would rightly withhold.
    const g = await startTestGateway({
      FHIR_UPSTREAM_URL: upstreamUrl,
      REDIS_URL: r.url,
      REDIS_KEY_PREFIX: 'faults:',
      TOKEN_SECRET: 'f'.repeat(32),
      TOPICS_DIR: 'test/fixtures/topics',
      EVENTS_CHANNEL: CHANNEL,
      DELIVERY_AUTHORIZATION: 'none',
    });
    gateways.push(g);
    return g;
  }
  async function subscribed(g: Gateway, patient: string): Promise<{ id: string; client: WsClient }> {
    const res = await fhir<{ id: string }>('POST', `${g.baseUrl}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: `Observation?patient=Patient/${patient}`, content: 'id-only' }));
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const id = res.body.id;
    const t = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${g.baseUrl}/Subscription/${id}/$get-ws-binding-token`);
    const client = await WsClient.connect(`ws://127.0.0.1:${g.port}/ws`);
    clients.push(client);
    client.send(`bind-with-token ${t.body.parameter.find((p) => p.name === 'token')!.valueString!}`);
    await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
    return { id, client };
  }
  const observation = (g: Gateway, patient: string) =>
    fhir<{ id: string }>('POST', `${g.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'fault' }, subject: { reference: `Patient/${patient}` } });
  const received = (c: WsClient) => allNumbers(c.frames);
  async function statusError(g: Gateway, id: string): Promise<string[]> {
    const res = await fhir<{ entry: Array<{ resource: { parameter: Array<{ name: string; valueCodeableConcept?: { coding: Array<{ code: string }> } }> } }> }>(
      'GET',
      `${g.baseUrl}/Subscription/${id}/$status`,
    );
    expect(res.status).to.equal(200);
    return res.body.entry[0]!.resource.parameter.filter((p) => p.name === 'error').flatMap((p) => p.valueCodeableConcept!.coding.map((c) => c.code));
  }

  it('a processing failure after numbering: the retry delivers the same numbers, once', async () => {
    redis = await startRestartableRedis({ aof: false });
    const g = await gateway(redis);
    const { id, client } = await subscribed(g, 'retry');
    // The delivery message of the first event fails once: the pipeline retries the whole event.
    const publish = g.engine.publish.bind(g.engine);
    let failures = 0;
    g.engine.publish = async (channel, message, options) => {
      if (channel === 'deliveries' && failures === 0) {
        failures++;
        throw new Error('injected: publish failed after numbering');
      }
      return publish(channel, message, options);
    };
    for (let n = 1; n <= 3; n++) {
      expect((await observation(g, 'retry')).status).to.equal(201);
      await until(() => received(client).length >= n, `notification ${n}`, 10_000);
    }
    await sleep(500);
    expect(failures).to.equal(1);
    expect(received(client)).to.deep.equal([1, 2, 3]);
    const events = await fhir<{ entry: Array<{ resource: { parameter?: Array<{ name: string; part?: Array<{ name: string; valueString?: string }> }> } }> }>(
      'GET',
      `${g.baseUrl}/Subscription/${id}/$events`,
    );
    const logged = events.body.entry[0]!.resource.parameter!.filter((p) => p.name === 'notification-event').map((p) => p.part!.find((x) => x.name === 'event-number')!.valueString);
    expect(logged).to.deep.equal(['1', '2', '3']);
  });

  it('Redis restarted empty: no number is reused, the bound client is told events were lost, and $status says so', async () => {
    redis = await startRestartableRedis({ aof: false });
    const g = await gateway(redis);
    const { id, client } = await subscribed(g, 'empty');
    const focus = new Map<number, string>();
    const note = () => {
      for (const f of client.frames)
        for (const e of notifiedEvents(f)) {
          if (focus.has(e.number) && focus.get(e.number) !== e.focus) throw new Error(`number ${e.number} reused: ${focus.get(e.number)} then ${e.focus}`);
          focus.set(e.number, e.focus!);
        }
    };
    for (let n = 1; n <= 3; n++) {
      await observation(g, 'empty');
      await until(() => received(client).length >= n, `notification ${n}`);
    }
    expect(received(client)).to.deep.equal([1, 2, 3]);

    await redis.stop('SIGKILL');
    await redis.start(); // same port, nothing kept
    const lost = await client.next(isEventsLost, 'the events-lost frame', 15_000);
    expect(issuesOf(lost)[0]!.expression).to.deep.equal([`Subscription/${id}`]);
    expect(issuesOf(lost)[0]!.code).to.equal('incomplete');

    await until(async () => (await observation(g, 'empty').catch(() => ({ status: 0 }))).status === 201, 'a write after the restart', 15_000);
    await until(() => received(client).length >= 4, 'a notification after the restart', 15_000);
    await observation(g, 'empty');
    await until(() => received(client).length >= 5, 'the second notification after the restart', 15_000);
    await sleep(300);
    note();
    const numbers = received(client);
    expect(numbers).to.have.length(5);
    expect(new Set(numbers).size).to.equal(5);
    expect(numbers[3]).to.be.greaterThan(3);
    expect(numbers[4]).to.equal(numbers[3]! + 1);
    expect(await statusError(g, id)).to.deep.equal(['events-lost']);
    expect((await g.metrics.eventLogStateLost.get()).values[0]?.value).to.equal(1);
  });

  it('Redis restarted with AOF during a burst: nothing already numbered is renumbered or repeated, and no loss is reported', async () => {
    redis = await startRestartableRedis({ aof: true });
    const g = await gateway(redis);
    const { id, client } = await subscribed(g, 'burst');
    const publisher = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    publisher.on('error', () => undefined);
    publishers.push(publisher);
    const published: string[] = [];
    const burst = (async () => {
      for (let i = 0; i < 300; i++) {
        const now = new Date().toISOString();
        const resource = {
          resourceType: 'Observation',
          id: `burst-${i}`,
          meta: { versionId: '1', lastUpdated: now },
          status: 'final',
          code: { text: 'burst' },
          subject: { reference: 'Patient/burst' },
        };
        const event = { interaction: 'create', reference: `Observation/burst-${i}`, versionId: '1', timestamp: now, resource };
        // While Redis is down a PUBLISH fails: pub/sub is at-most-once, the producer would retry.
        if (
          await publisher.publish(CHANNEL, JSON.stringify(event)).then(
            () => true,
            () => false,
          )
        )
          published.push(`Observation/burst-${i}`);
        await sleep(5);
      }
    })();
    await until(() => received(client).length >= 50, 'the first part of the burst', 15_000);
    await redis.stop('SIGKILL');
    await sleep(300);
    await redis.start();
    await burst;
    await until(() => received(client).length >= published.length, `all ${published.length} published events`, 30_000).catch(() => undefined);
    await sleep(1000);

    const events = client.frames.flatMap(notifiedEvents).map((e) => ({ ...e, focus: e.focus?.replace(/^.*\/fhir\//, '') }));
    const numbers = events.map((e) => e.number);
    expect(client.frames.some(isEventsLost), 'no events-lost frame: the state was kept').to.equal(false);
    expect(new Set(numbers).size, 'no number repeated').to.equal(numbers.length);
    expect(new Set(events.map((e) => e.focus)).size, 'no event numbered twice').to.equal(events.length);
    expect(numbers).to.deep.equal([...numbers].sort((a, b) => a - b));
    // The log agrees with what the client got: same number, same event.
    const page = await g.eventLog.read(id, 1, Infinity, 1000);
    const logged = new Map(page.events.map((e) => [e.number, e.reference]));
    for (const e of events) expect(logged.get(e.number), `event ${e.number}`).to.equal(e.focus);
    expect(page.events.map((e) => e.number)).to.deep.equal(page.events.map((_, i) => i + 1));
    expect(new Set(page.events.map((e) => e.eventId)).size).to.equal(page.events.length);
    expect(events.length).to.be.greaterThan(50);
    expect(await statusError(g, id)).to.deep.equal([]);
    expect((await g.metrics.eventLogStateLost.get()).values[0]?.value ?? 0).to.equal(0);
  });

  it('two gateway replicas receiving consecutive versions of resources at once number them in version order', async () => {
    redis = await startRestartableRedis({ aof: false });
    // Reading a version from the upstream takes 150 ms, so the replica that fetches version 1 is
    // still busy when the other has version 2 (which carries its resource) ready.
    const slow = await slowVersionReads(upstream.url);
    closers.push(slow.close);
    const g1 = await gateway(redis, slow.url);
    const g2 = await gateway(redis, slow.url);
    const { id, client } = await subscribed(g1, 'order');
    await until(() => g2.subscriptions.registry.get(id) !== undefined, 'the second replica knows the subscription');
    const publisher = new Redis(redis.url);
    publisher.on('error', () => undefined);
    publishers.push(publisher);
    const resources = 20;
    for (let i = 0; i < resources; i++) {
      // Two versions at the upstream, straight (no gateway sees the writes).
      const created = await fhir<{ id: string; meta: { versionId: string; lastUpdated: string } }>('POST', `${upstream.url}/Observation`, {
        resourceType: 'Observation',
        status: 'preliminary',
        code: { text: 'order' },
        subject: { reference: 'Patient/order' },
      });
      await sleep(2);
      const updated = await fhir<{ id: string; meta: { versionId: string; lastUpdated: string } }>('PUT', `${upstream.url}/Observation/${created.body.id}`, { ...created.body, status: 'final' });
      const ref = `Observation/${created.body.id}`;
      // Version 1 must be fetched from the upstream (slow); version 2 carries its resource (fast),
      // so whichever replica takes version 2 is ready first.
      await publisher.publish(CHANNEL, JSON.stringify({ interaction: 'create', reference: ref, versionId: created.body.meta.versionId, timestamp: created.body.meta.lastUpdated }));
      await publisher.publish(
        CHANNEL,
        JSON.stringify({ interaction: 'update', reference: ref, versionId: updated.body.meta.versionId, timestamp: updated.body.meta.lastUpdated, resource: updated.body }),
      );
    }
    await until(() => received(client).length >= 2 * resources, 'every version', 20_000).catch((err: unknown) => {
      throw new Error(`${String(err).slice(0, 200)}; received ${JSON.stringify(received(client))}`);
    });
    await sleep(500);
    expect(received(client)).to.deep.equal(Array.from({ length: 2 * resources }, (_, i) => i + 1));
    const page = await g1.eventLog.read(id, 1, Infinity, 1000);
    const byResource = new Map<string, string[]>();
    for (const e of page.events) byResource.set(e.reference, [...(byResource.get(e.reference) ?? []), e.interaction]);
    expect(byResource.size).to.equal(resources);
    for (const [ref, order] of byResource) expect(order, ref).to.deep.equal(['create', 'update']);
    const numbered = async (g: Gateway) => (await g.metrics.notificationsNumbered.get()).values[0]?.value ?? 0;
    expect(await numbered(g1), 'replica 1 numbered some').to.be.greaterThan(0);
    expect(await numbered(g2), 'replica 2 numbered some').to.be.greaterThan(0);
  });
});
