import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { WsClient, notificationType } from '../support/ws-client.js';

// Issue 9 item 7: the replicas of one deployment are one gateway whatever each one's public URL,
// and two deployments sharing one Redis (different REDIS_KEY_PREFIX) never hear each other.

const SECRET = 'd'.repeat(32);
const TOPICS_DIR = 'test/fixtures/topics';

/** The gateway's FHIR base as this test reaches it (its PUBLIC_BASE_URL may name another host). */
const local = (g: Gateway) => `http://127.0.0.1:${g.port}/fhir`;

async function subscribe(g: Gateway, patient: string): Promise<string> {
  const res = await fhir<{ id: string }>('POST', `${local(g)}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: `Observation?patient=Patient/${patient}` }));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.id;
}

async function token(g: Gateway, id: string): Promise<string> {
  const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${local(g)}/Subscription/${id}/$get-ws-binding-token`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.parameter.find((p) => p.name === 'token')!.valueString!;
}

async function bind(g: Gateway, t: string): Promise<WsClient> {
  const client = await WsClient.connect(`ws://127.0.0.1:${g.port}/ws`);
  client.send(`bind-with-token ${t}`);
  await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
  return client;
}

const notifications = (c: WsClient) => c.frames.filter((f) => notificationType(f) === 'event-notification');
const settle = (ms = 600) => new Promise((r) => setTimeout(r, ms));

describe('Replicas with different PUBLIC_BASE_URLs are one gateway (redis engine)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let upstream: DemoUpstream;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    const env = { FHIR_UPSTREAM_URL: upstream.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: SECRET, TOPICS_DIR };
    a = await startTestGateway({ ...env, PUBLIC_BASE_URL: 'https://replica-a.example/fhir' });
    b = await startTestGateway({ ...env, PUBLIC_BASE_URL: 'https://replica-b.example/fhir' });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('a token from replica A binds on replica B, and B delivers a write made through A', async () => {
    const id = await subscribe(a, 'replicas');
    const client = await bind(b, await token(a, id));
    try {
      const write = await fhir('POST', `${local(a)}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/replicas' } });
      expect(write.status).to.equal(201);
      await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
      await settle();
      expect(notifications(client)).to.have.length(1);
      // B renders with its own public base.
      expect(JSON.stringify(notifications(client)[0])).to.contain('https://replica-b.example/fhir/Subscription/');
    } finally {
      client.close();
    }
  });
});

describe('Two deployments on one Redis stay apart (different REDIS_KEY_PREFIX)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let upstreamX: DemoUpstream;
  let upstreamY: DemoUpstream;
  let x: Gateway;
  let y: Gateway;
  let prefixX: string;
  let prefixY: string;
  let producer: Redis;

  before(async () => {
    redis = await startRedis();
    [upstreamX, upstreamY] = await Promise.all([startUpstream(), startUpstream()]);
    prefixX = redis.newPrefix('x');
    prefixY = redis.newPrefix('y');
    // Neither sets EVENTS_CHANNEL: each listens on fhir:resource-changes under its own prefix.
    const env = { REDIS_URL: redis.url, TOKEN_SECRET: SECRET, TOPICS_DIR };
    x = await startTestGateway({ ...env, FHIR_UPSTREAM_URL: upstreamX.url, REDIS_KEY_PREFIX: prefixX });
    y = await startTestGateway({ ...env, FHIR_UPSTREAM_URL: upstreamY.url, REDIS_KEY_PREFIX: prefixY });
    producer = new Redis(redis.url);
    producer.on('error', () => undefined);
  });
  after(async () => {
    producer?.disconnect();
    await y?.close();
    await x?.close();
    await Promise.all([upstreamX?.close(), upstreamY?.close()]);
    await redis?.stop();
  });

  const event = (id: string) =>
    JSON.stringify({
      interaction: 'create',
      reference: `Observation/${id}`,
      versionId: '1',
      timestamp: new Date().toISOString(),
      resource: { resourceType: 'Observation', id, meta: { versionId: '1' }, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/apart' } },
    });

  it("a producer's event for one deployment, and a write through one, notify that deployment only", async () => {
    const [sx, sy] = await Promise.all([subscribe(x, 'apart'), subscribe(y, 'apart')]);
    const [cx, cy] = await Promise.all([bind(x, await token(x, sx)), bind(y, await token(y, sy))]);
    try {
      // The documented producer command for deployment X: PUBLISH <prefix>fhir:resource-changes,
      // about a resource X's upstream holds (delivery confirms the subscriber may read it there).
      await store(upstreamX, 'for-x');
      await producer.publish(`${prefixX}fhir:resource-changes`, event('for-x'));
      await cx.next((f) => notificationType(f) === 'event-notification', 'X notified');
      // A write proxied by Y goes to Y's own channel only.
      const write = await fhir('POST', `${local(y)}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient/apart' } });
      expect(write.status).to.equal(201);
      await cy.next((f) => notificationType(f) === 'event-notification', 'Y notified');
      await settle();
      expect(notifications(cx), 'X').to.have.length(1);
      expect(notifications(cy), 'Y').to.have.length(1);
      expect(JSON.stringify(notifications(cx)[0])).to.contain('Observation/for-x');
      expect(JSON.stringify(notifications(cy)[0])).not.to.contain('Observation/for-x');
    } finally {
      cx.close();
      cy.close();
    }
  });

  it('a token of one deployment does not bind on the other, though both share the key', async () => {
    const sx = await subscribe(x, 'token');
    const t = await token(x, sx);
    const client = await WsClient.connect(`ws://127.0.0.1:${y.port}/ws`);
    try {
      client.send(`bind-with-token ${t}`);
      const refused = await client.next((f) => f.resourceType === 'OperationOutcome', 'the refusal');
      expect(JSON.stringify(refused)).to.match(/rejected \(unknown\)/);
    } finally {
      client.close();
    }
  });
});

describe('The default deployment listens on the documented channel (memory engine)', function () {
  this.timeout(30_000);
  let upstream: DemoUpstream;
  let g: Gateway;
  before(async () => {
    upstream = await startUpstream();
    g = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR });
  });
  after(async () => {
    await g?.close();
    await upstream?.close();
  });

  it('an event PUBLISHed on fhir:resource-changes, as design.md names it, notifies', async () => {
    const id = await subscribe(g, 'default-channel');
    const client = await bind(g, await token(g, id));
    try {
      // With the default key prefix the channel is the contract's name, not a prefixed one.
      await store(upstream, 'default-channel');
      await g.engine.publish('fhir:resource-changes', event('default-channel'), { raw: true });
      const n = await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
      expect(JSON.stringify(n)).to.contain('Observation/default-channel');
    } finally {
      client.close();
    }
  });
});

/** The resource an event announces, stored at the upstream under its id. */
async function store(upstream: DemoUpstream, id: string): Promise<void> {
  const res = await fhir('PUT', `${upstream.url}/Observation/${id}`, JSON.parse(event(id)).resource);
  expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
}

function event(id: string): string {
  return JSON.stringify({
    interaction: 'create',
    reference: `Observation/${id}`,
    versionId: '1',
    timestamp: new Date().toISOString(),
    resource: { resourceType: 'Observation', id, meta: { versionId: '1' }, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${id}` } },
  });
}
