import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { WsClient, notificationSubscription, notificationType, r4Param } from '../support/ws-client.js';

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; id?: string };
  request?: { method: string; url: string };
  response?: { status: string };
}

const entries = (f: Record<string, unknown>) => (f.entry as Entry[]) ?? [];

for (const kind of ['memory', 'redis'] as const) {
  describe(`WebSocket channel, spec dialect (${kind} engine)`, function () {
    this.timeout(30_000);
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let base: string;
    let wsUrl: string;
    const clients: WsClient[] = [];

    before(async () => {
      upstream = await startUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'w'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
      wsUrl = `ws://127.0.0.1:${gateway.port}/ws`;
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await redis?.stop();
    });

    async function subscription(overrides: Parameters<typeof backportSubscription>[0] = {}): Promise<string> {
      const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, ...overrides }));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    }
    async function token(...ids: string[]): Promise<string> {
      const url = ids.length === 1 ? `${base}/Subscription/${ids[0]}/$get-ws-binding-token` : `${base}/Subscription/$get-ws-binding-token?${ids.map((i) => `id=${i}`).join('&')}`;
      const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', url);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body.parameter.find((p) => p.name === 'token')!.valueString!;
    }
    async function connect(): Promise<WsClient> {
      const c = await WsClient.connect(wsUrl);
      clients.push(c);
      return c;
    }
    const observation = (patient: string, value = 1) =>
      fhir<{ id: string }>('POST', `${base}/Observation`, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'ws' },
        subject: { reference: `Patient/${patient}` },
        valueQuantity: { value },
      });

    it('binds with "bind-with-token <token>", answers a handshake, sends heartbeats at the period, then id-only notifications (Inferno 5, 9, 11, 12)', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/ws1', heartbeat: 1, content: 'id-only' });
      const c = await connect();
      c.send(`bind-with-token ${await token(id)}`);
      const handshake = await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      expect(handshake.type).to.equal('history');
      expect(r4Param(handshake, 'status')!.valueCode, 'Inferno check 11').to.equal('requested');
      expect(r4Param(handshake, 'type')!.valueCode).to.equal('handshake');
      expect(r4Param(handshake, 'events-since-subscription-start')!.valueString).to.equal('0');
      expect(entries(handshake)[0]!.request!.url).to.equal(`${base}/Subscription/${id}/$status`);

      const beat = await c.next((f) => notificationType(f) === 'heartbeat', 'a heartbeat', 3000);
      expect(entries(beat)).to.have.length(1);

      const created = await observation('ws1');
      const note = await c.next((f) => notificationType(f) === 'event-notification', 'the event notification');
      expect(note.type).to.equal('history');
      expect(r4Param(note, 'status')!.valueCode).to.equal('active');
      const event = r4Param(note, 'notification-event')!;
      expect(event.part!.find((p) => p.name === 'event-number')!.valueString).to.equal('1');
      expect(event.part!.find((p) => p.name === 'focus')!.valueReference!.reference).to.equal(`${base}/Observation/${created.body.id}`);
      for (const e of entries(note)) {
        expect(e.request, 'every entry has request').to.not.equal(undefined);
        expect(e.response, 'every entry has response').to.not.equal(undefined);
      }
      for (const e of entries(note).slice(1)) {
        expect(e.resource).to.equal(undefined);
        expect(e.fullUrl).to.be.a('string');
      }
    });

    it('accepts "bind-with-token: <token>" and sends full resources with their focus (Inferno 10)', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/ws2', content: 'full-resource' });
      const c = await connect();
      c.send(`bind-with-token: ${await token(id)}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      const created = await observation('ws2', 7);
      const note = await c.next((f) => notificationType(f) === 'event-notification', 'the notification');
      expect(r4Param(note, 'topic')!.valueCanonical).to.equal(RECORD_CHANGE);
      const resources = entries(note)
        .slice(1)
        .map((e) => e.resource as { resourceType: string; id: string; valueQuantity?: { value: number } });
      expect(resources[0]!.id).to.equal(created.body.id);
      expect(resources[0]!.valueQuantity!.value).to.equal(7);
    });

    it('sends an empty notification with no focus and no entry besides the status (Inferno 8)', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/ws3', content: 'empty' });
      const c = await connect();
      c.send(`bind-with-token ${await token(id)}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await observation('ws3');
      const note = await c.next((f) => notificationType(f) === 'event-notification', 'the notification');
      expect(entries(note)).to.have.length(1);
      expect(r4Param(note, 'topic')).to.equal(undefined);
      expect(r4Param(note, 'notification-event')!.part!.find((p) => p.name === 'focus')).to.equal(undefined);
    });

    it('a token for subscription A never yields a notification of B, and one socket may bind both with two tokens', async () => {
      const a = await subscription({ filter: 'Observation?patient=Patient/iso-a' });
      const b = await subscription({ filter: 'Observation?patient=Patient/iso-b' });
      const onlyA = await connect();
      onlyA.send(`bind-with-token ${await token(a)}`);
      const both = await connect();
      both.send(`bind-with-token ${await token(a)}`);
      both.send(`bind-with-token ${await token(b)}`);
      await onlyA.next((f) => notificationType(f) === 'handshake', 'A handshake');
      await both.next((f) => notificationType(f) === 'handshake' && notificationSubscription(f) === b, 'B handshake');
      await observation('iso-b');
      await both.next((f) => notificationType(f) === 'event-notification' && notificationSubscription(f) === b, 'B on the socket bound to both');
      await observation('iso-a');
      await onlyA.next((f) => notificationType(f) === 'event-notification', 'A');
      await new Promise((r) => setTimeout(r, 200));
      expect(onlyA.frames.filter((f) => notificationSubscription(f) === b)).to.deep.equal([]);
    });

    it('one token may cover several subscriptions: one handshake each', async () => {
      const a = await subscription({ filter: 'Observation?patient=Patient/multi-a' });
      const b = await subscription({ filter: 'Observation?patient=Patient/multi-b' });
      const c = await connect();
      c.send(`bind-with-token ${await token(a, b)}`);
      await c.next((f) => notificationType(f) === 'handshake' && notificationSubscription(f) === a, 'A handshake');
      await c.next((f) => notificationType(f) === 'handshake' && notificationSubscription(f) === b, 'B handshake');
    });

    it('many sockets may bind one subscription: each gets the notification once', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/fan' });
      const sockets = await Promise.all([connect(), connect(), connect()]);
      const t = await token(id);
      for (const s of sockets) s.send(`bind-with-token ${t}`);
      for (const s of sockets) await s.next((f) => notificationType(f) === 'handshake', 'handshake');
      await observation('fan');
      for (const s of sockets) await s.next((f) => notificationType(f) === 'event-notification', 'notification');
      await new Promise((r) => setTimeout(r, 200));
      for (const s of sockets) expect(s.frames.filter((f) => notificationType(f) === 'event-notification')).to.have.length(1);
    });

    it('a deleted subscription’s sockets are told and stop receiving within a second; its token can no longer bind', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/gone' });
      const t = await token(id);
      const c = await connect();
      c.send(`bind-with-token ${t}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      const t0 = Date.now();
      await fhir('DELETE', `${base}/Subscription/${id}`);
      await c.next((f) => f.resourceType === 'OperationOutcome', 'the OperationOutcome', 1000);
      expect(Date.now() - t0).to.be.lessThan(1000);
      await observation('gone');
      await new Promise((r) => setTimeout(r, 300));
      expect(c.frames.filter((f) => notificationType(f) === 'event-notification')).to.deep.equal([]);
      const again = await connect();
      again.send(`bind-with-token ${t}`);
      const refused = await again.next((f) => f.resourceType === 'OperationOutcome', 'a refusal');
      expect(JSON.stringify(refused)).to.match(/rejected|not active/);
      expect(again.frames.filter((f) => notificationType(f) === 'handshake')).to.deep.equal([]);
    });

    it('turning a subscription off ends its bindings too', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/off' });
      const c = await connect();
      c.send(`bind-with-token ${await token(id)}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await fhir('PUT', `${base}/Subscription/${id}`, { ...backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/off', status: 'off' }), id });
      await c.next((f) => f.resourceType === 'OperationOutcome', 'the OperationOutcome', 1000);
    });

    it('replays logged events since a number before live ones, in maxCount batches when asked', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/replay' });
      for (let i = 0; i < 3; i++) await observation('replay', i);
      await new Promise((r) => setTimeout(r, 300));
      await gateway.pipeline.idle();
      const c = await connect();
      c.send(`bind-with-token ${await token(id)} events-since=2`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await observation('replay', 9);
      await c.next((f) => notificationType(f) === 'event-notification' && r4Param(f, 'events-since-subscription-start')!.valueString === '4', 'the live event 4');
      const numbers = c.frames.filter((f) => notificationType(f) === 'event-notification').map((f) => r4Param(f, 'events-since-subscription-start')!.valueString);
      expect(numbers).to.deep.equal(['2', '3', '4']);
    });

    it('renews on the same socket when a fresh token is bound: a handshake, then no gap and no repeat', async () => {
      const id = await subscription({ filter: 'Observation?patient=Patient/renew' });
      const c = await connect();
      c.send(`bind-with-token ${await token(id)}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the first handshake');
      await observation('renew');
      await c.next((f) => notificationType(f) === 'event-notification', 'event 1');
      c.send(`bind-with-token: ${await token(id)}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the second handshake', 5000, c.frames.findIndex((f) => notificationType(f) === 'event-notification') + 1);
      await observation('renew');
      await c.next((f) => notificationType(f) === 'event-notification' && r4Param(f, 'events-since-subscription-start')!.valueString === '2', 'event 2');
      const events = c.frames.filter((f) => notificationType(f) === 'event-notification');
      expect(events).to.have.length(2);
    });

    it('answers a bad frame with an OperationOutcome and closes a socket that keeps sending them with 1008', async () => {
      const c = await connect();
      c.send('hello');
      const oo = await c.next((f) => f.resourceType === 'OperationOutcome', 'the OperationOutcome');
      expect(JSON.stringify(oo)).to.match(/bind-with-token/);
      c.send('bind-with-token not-a-real-token');
      for (let i = 0; i < 5; i++) c.send('nonsense');
      expect(await c.closed()).to.equal(1008);
    });
  });
}
