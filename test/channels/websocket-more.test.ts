import { expect } from 'chai';
import { request } from 'undici';
import WebSocket from 'ws';
import { BindingTokens, deploymentIssuer } from '../../src/channels/tokens.js';
import type { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { GatewayProcess } from '../support/process.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { WsClient, notificationType } from '../support/ws-client.js';

const SECRET = 'm'.repeat(32);

async function token(base: string, id: string): Promise<string> {
  const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.parameter.find((p) => p.name === 'token')!.valueString!;
}

async function subscribe(base: string, overrides: Parameters<typeof backportSubscription>[0] = {}): Promise<string> {
  const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, ...overrides }));
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.id;
}

const observation = (base: string, patient: string, extra: Record<string, unknown> = {}) =>
  fhir<{ id: string }>('POST', `${base}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'ws' }, subject: { reference: `Patient/${patient}` }, ...extra });

describe('WebSocket channel across two replicas', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let upstream: DemoUpstream;
  let first: Gateway;
  let second: GatewayProcess;
  let secondBase: string;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    const env = {
      FHIR_UPSTREAM_URL: upstream.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.newPrefix(),
      TOKEN_SECRET: SECRET,
      TOPICS_DIR: 'test/fixtures/topics',
      EVENTS_CHANNEL: `${redis.newPrefix()}events`,
    };
    first = await startTestGateway(env);
    second = new GatewayProcess({ ...env, PORT: '0' });
    secondBase = `http://127.0.0.1:${await second.listening()}/fhir`;
  });
  after(async () => {
    await second?.stop();
    await first?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('bind on one replica, write through the other: one notification', async () => {
    const id = await subscribe(secondBase, { filter: 'Observation?patient=Patient/rep' });
    // The token comes from the second replica and binds on the first: replicas share the key.
    const t = await token(secondBase, id);
    await new Promise((r) => setTimeout(r, 200));
    const client = await WsClient.connect(`ws://127.0.0.1:${first.port}/ws`);
    try {
      client.send(`bind-with-token ${t}`);
      await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await observation(secondBase, 'rep');
      await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
      await new Promise((r) => setTimeout(r, 500));
      expect(client.frames.filter((f) => notificationType(f) === 'event-notification')).to.have.length(1);
    } finally {
      client.close();
    }
  });
});

describe('WebSocket channel limits', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let upstream: DemoUpstream;
  let gateway: Gateway;
  let base: string;
  let prefix: string;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    prefix = redis.newPrefix();
    gateway = await startTestGateway({
      FHIR_UPSTREAM_URL: upstream.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      TOKEN_SECRET: SECRET,
      TOPICS_DIR: 'test/fixtures/topics',
      EVENTS_CHANNEL: `${redis.newPrefix()}events`,
      WS_MAX_BUFFERED_BYTES: String(64 * 1024),
      WS_MAX_CONNECTIONS: '3',
      ABANDONED_SUBSCRIPTION_MS: '1500',
    });
    base = gateway.baseUrl;
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
    await redis.stop();
  });

  it('ends a binding whose token expires with an OperationOutcome, and refuses an expired token', async () => {
    const id = await subscribe(base, { filter: 'Observation?patient=Patient/exp' });
    // A token of the gateway's own kind (same key and issuer) that lives one second.
    const short = new BindingTokens({
      engine: gateway.engine,
      keys: { algorithm: 'HS256', secret: SECRET },
      lifetimeSeconds: 1,
      issuer: deploymentIssuer({ keyPrefix: prefix }),
      logger: createLogger('silent'),
    });
    const { token: t, claims } = await short.issue([id]);
    // $get-ws-binding-token would also have kept the caller's (here anonymous) credential.
    await gateway.access?.credentials.keep(claims.jti, gateway.access.credentials.credential(undefined), claims.expiresAt);
    const client = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
    try {
      client.send(`bind-with-token ${t}`);
      await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
      const expired = await client.next((f) => f.resourceType === 'OperationOutcome', 'the expiry OperationOutcome', 4000);
      expect(JSON.stringify(expired)).to.match(/expired/);
      await observation(base, 'exp');
      await new Promise((r) => setTimeout(r, 300));
      expect(client.frames.filter((f) => notificationType(f) === 'event-notification')).to.deep.equal([]);
      const before = client.frames.length;
      client.send(`bind-with-token ${t}`);
      const refused = await client.next((f) => f.resourceType === 'OperationOutcome', 'the refusal', 2000, before);
      expect(JSON.stringify(refused)).to.match(/expired/);
    } finally {
      client.close();
    }
  });

  it('closes a slow consumer and counts it, without holding back a socket that reads', async () => {
    const id = await subscribe(base, { filter: 'Observation?patient=Patient/slow', content: 'full-resource' });
    const t = await token(base, id);
    const reader = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
    const slow = new WebSocket(`ws://127.0.0.1:${gateway.port}/ws`);
    await new Promise((r) => slow.once('open', r));
    let slowClosed: number | undefined;
    slow.on('close', (code) => (slowClosed = code));
    try {
      reader.send(`bind-with-token ${t}`);
      slow.send(`bind-with-token ${t}`);
      await reader.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await new Promise((r) => setTimeout(r, 200));
      // Stop reading: the socket's receive buffer fills, then the gateway's send queue.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();
      const note = 'x'.repeat(100_000);
      for (let i = 0; i < 150; i++) await observation(base, 'slow', { note: [{ text: note }] });
      await reader.next(
        (f) => notificationType(f) === 'event-notification' && reader.frames.filter((x) => notificationType(x) === 'event-notification').length >= 150,
        'all 150 on the reading socket',
        25_000,
      );
      (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      const deadline = Date.now() + 5000;
      while (slowClosed === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // 1013 when the close frame gets through; 1006 when it is stuck behind the unread backlog.
      expect(slowClosed).to.be.oneOf([1013, 1006]);
      const metrics = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      expect(metrics).to.match(/fsg_websocket_slow_consumers_total [1-9]/);
    } finally {
      reader.close();
      slow.terminate();
    }
  });

  it('refuses connections beyond the limit with 503', async () => {
    const open = await Promise.all([0, 1, 2].map(() => WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`)));
    try {
      const refused = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`).then(
        (c) => {
          c.close();
          return 'accepted';
        },
        (err: Error) => err.message,
      );
      expect(refused).to.match(/503/);
    } finally {
      for (const c of open) c.close();
    }
  });

  it('turns off a websocket subscription nobody binds, and keeps one that is bound', async () => {
    const abandoned = await subscribe(base, { filter: 'Observation?patient=Patient/abandoned' });
    const kept = await subscribe(base, { filter: 'Observation?patient=Patient/kept' });
    const client = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
    try {
      client.send(`bind-with-token ${await token(base, kept)}`);
      await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
      const deadline = Date.now() + 8000;
      while (gateway.subscriptions.registry.get(abandoned) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(gateway.subscriptions.registry.get(abandoned)).to.equal(undefined);
      const stored = await fhir<{ status: string }>('GET', `${upstream.url}/Subscription/${abandoned}`);
      expect(stored.body.status).to.equal('off');
      expect(gateway.subscriptions.registry.get(kept)).not.to.equal(undefined);
    } finally {
      client.close();
    }
  });
});
