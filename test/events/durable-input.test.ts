// Fault tests for the durable input, with real processes: redis-server, gateway processes, the
// demo upstream in its own process. Every notification each subscription received is counted.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { DemoUpstreamProcess, RedisProcess, range, receivedEvents, receivedNumbers } from '../support/faults.js';
import { GatewayProcess } from '../support/process.js';
import { until } from '../support/wait.js';
import { WsClient } from '../support/ws-client.js';

const STREAM = 'durable:events-in';

function env(redis: RedisProcess, upstream: DemoUpstreamProcess, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FHIR_UPSTREAM_URL: upstream.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'durable:',
    TOKEN_SECRET: 'd'.repeat(32),
    TOPICS_DIR: 'test/fixtures/topics',
    EVENTS_CHANNEL: 'durable:events',
    EVENTS_STREAM: STREAM,
    EVENTS_STREAM_RECLAIM_MS: '2000',
    EVENT_LOG_MAX: '5000',
    CATCHUP_INTERVAL_MS: '0',
    // The producers' events name resources the upstream does not hold; who may see what is not under test.
    DELIVERY_AUTHORIZATION: 'none',
    PORT: '0',
    ...extra,
  };
}

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** A subscription created through `port`, and a ws client bound to it there. */
async function subscribed(port: number, filter?: string): Promise<{ id: string; client: WsClient }> {
  const base = `http://127.0.0.1:${port}/fhir`;
  const created = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, ...(filter ? { filter } : {}) }));
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  const id = created.body.id;
  const client = await WsClient.connect(`ws://127.0.0.1:${port}/ws`);
  client.send(`bind-with-token ${await token(port, id)}`);
  await client.next((f) => JSON.stringify(f).includes('"handshake"'), 'the handshake', 10_000);
  return { id, client };
}

async function token(port: number, id: string): Promise<string> {
  const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `http://127.0.0.1:${port}/fhir/Subscription/${id}/$get-ws-binding-token`);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body.parameter.find((p) => p.name === 'token')!.valueString!;
}

function observationEvent(i: number, patient: string): string {
  const resource = { resourceType: 'Observation', id: `o${i}`, meta: { versionId: '1' }, status: 'final', code: { text: 'load' }, subject: { reference: `Patient/${patient}` } };
  return JSON.stringify({ interaction: 'create', reference: `Observation/o${i}`, versionId: '1', timestamp: new Date().toISOString(), resource });
}

describe('durable input under faults (real processes)', function () {
  this.timeout(180_000);
  let redis: RedisProcess;
  let upstream: DemoUpstreamProcess;
  const gateways: GatewayProcess[] = [];
  const clients: WsClient[] = [];

  beforeEach(async () => {
    upstream = await DemoUpstreamProcess.start();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const g of gateways)
        console.error(
          `gateway (exit ${g.child.exitCode}, signal ${g.child.signalCode}):\n${(g.stderr + g.stdout)
            .split('\n')
            .filter((l) => !l.includes('"level":30'))
            .slice(-15)
            .join('\n')}`,
        );
    }
    for (const c of clients.splice(0)) c.close();
    await Promise.all(gateways.splice(0).map((g) => g.stop()));
    await upstream?.stop();
    await redis?.stop();
  });

  async function gateway(extra: Record<string, string> = {}): Promise<{ process: GatewayProcess; port: number }> {
    const g = new GatewayProcess(env(redis, upstream, extra));
    gateways.push(g);
    return { process: g, port: await g.listening() };
  }

  it('1,000 stream events, two replicas, one SIGKILLed halfway: every event reaches every matching socket, numbers in order without gap or repeat, none left pending', async () => {
    redis = await RedisProcess.start({ aof: false });
    const a = await gateway();
    const b = await gateway();
    const all = await subscribed(a.port);
    const p1 = await subscribed(a.port, 'Observation?patient=Patient/p1');
    const p2 = await subscribed(a.port, 'Observation?patient=Patient/p2');
    clients.push(all.client, p1.client, p2.client);
    await until(async () => (await metric(b.port, /^fsg_subscriptions_active (\d+)$/gm)) === 3, 'the second replica to know the subscriptions', 10_000);

    const producer = new Redis(redis.url);
    producer.on('error', () => undefined);
    try {
      for (let batch = 0; batch < 10; batch++) {
        if (batch === 5) await until(async () => (await metric(b.port, /^fsg_events_processed_total\{outcome="matched"\} (\d+)$/gm)) > 0, 'the replica to be killed to have taken a share', 20_000);
        const pipeline = producer.pipeline();
        for (let i = batch * 100; i < (batch + 1) * 100; i++) pipeline.xadd(STREAM, '*', 'event', observationEvent(i, `p${(i % 2) + 1}`));
        await pipeline.exec();
        if (batch === 5) {
          // Mid-batch: it has read entries it has not yet acknowledged.
          await new Promise((r) => setTimeout(r, 5));
          b.process.child.kill('SIGKILL');
          gateways.splice(gateways.indexOf(b.process), 1);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const expected = (filter: (i: number) => boolean) =>
        range(1000)
          .map((n) => n - 1)
          .filter(filter)
          .map((i) => `Observation/o${i}`)
          .sort();
      const focuses = (s: { id: string; client: WsClient }) => new Set(receivedEvents(s.client, s.id).map((e) => e.focus));
      await until(() => focuses(all).size === 1000 && focuses(p1).size === 500 && focuses(p2).size === 500, 'every event on every matching socket', 60_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${[all, p1, p2].map((s) => focuses(s).size).join(', ')}`);
      });
      await new Promise((r) => setTimeout(r, 1000));
      expect([...focuses(all)].sort()).to.deep.equal(expected(() => true));
      expect([...focuses(p1)].sort()).to.deep.equal(expected((i) => i % 2 === 0));
      expect([...focuses(p2)].sort()).to.deep.equal(expected((i) => i % 2 === 1));
      // Each socket saw exactly 1..N once, in order, whichever replica numbered each event: an event
      // the killed replica had numbered but not marked done gets the same number again when reclaimed.
      for (const [s, n] of [
        [all, 1000],
        [p1, 500],
        [p2, 500],
      ] as const) {
        expect(receivedNumbers(s.client, s.id), `subscription ${s.id}`).to.deep.equal(range(n));
      }
      // Nothing is left pending: what the killed replica held was taken over and acknowledged.
      await until(async () => Number((await producer.xpending(STREAM, 'durable:gateway'))[0]) === 0, 'no entry pending', 10_000);
      expect(await metric(a.port, /^fsg_stream_entries_total\{how="reclaimed"\} (\d+)$/gm), 'the survivor took entries over').to.be.above(0);
    } finally {
      producer.disconnect();
    }
  });

  it('Redis restarted (AOF) during a burst: every event arrives once, in order; writes through the gateway meanwhile too', async () => {
    redis = await RedisProcess.start({ aof: true });
    const g = await gateway();
    const sub = await subscribed(g.port);
    clients.push(sub.client);
    const base = `http://127.0.0.1:${g.port}/fhir`;
    // A producer that retries, as production producers must: ioredis queues while disconnected.
    const producer = new Redis(redis.url);
    producer.on('error', () => undefined);
    const written: string[] = [];
    try {
      const burst = (async () => {
        for (let i = 0; i < 300; i++) {
          await producer.xadd(STREAM, '*', 'event', observationEvent(i, 'p1'));
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await until(() => receivedNumbers(sub.client, sub.id).length >= 50, 'the burst to be under way', 20_000);
      await redis.kill();
      // Writes through the gateway while Redis is away: answered once their events are stored.
      const writes = Array.from({ length: 5 }, (_, i) =>
        fhir<{ id: string }>('POST', `${base}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: `outage ${i}` }, subject: { reference: 'Patient/px' } }),
      );
      await new Promise((r) => setTimeout(r, 700));
      await redis.run();
      for (const w of await Promise.all(writes)) {
        expect(w.status).to.equal(201);
        written.push(`Observation/${w.body.id}`);
      }
      await burst;
    } finally {
      producer.disconnect();
    }
    const expected = [...range(300).map((n) => `Observation/o${n - 1}`), ...written].sort();
    const focuses = () => new Set(receivedEvents(sub.client, sub.id).map((e) => e.focus));
    await until(() => focuses().size === expected.length, 'every event on the socket', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${focuses().size} of ${expected.length}`);
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect([...focuses()].sort()).to.deep.equal(expected);
    expect(receivedNumbers(sub.client, sub.id)).to.deep.equal(range(expected.length));
    expect(await metric(g.port, /^fsg_proxy_events_unstored_total (\d+)$/gm), 'no write event was given up').to.equal(0);
  });

  it('Redis paused for 5 s: the token operation, $events, $status and a bind answer within a second, then all recovers', async () => {
    redis = await RedisProcess.start({ aof: false });
    const g = await gateway();
    const sub = await subscribed(g.port);
    clients.push(sub.client);
    const base = `http://127.0.0.1:${g.port}/fhir`;
    const timed = async <T>(what: () => Promise<T>): Promise<{ ms: number; value: T }> => {
      const started = Date.now();
      const value = await what();
      return { ms: Date.now() - started, value };
    };

    const held = await token(g.port, sub.id);
    redis.pause();
    try {
      await new Promise((r) => setTimeout(r, 200));
      for (const path of [`Subscription/${sub.id}/$get-ws-binding-token`, `Subscription/${sub.id}/$events`, `Subscription/${sub.id}/$status`]) {
        const { ms, value } = await timed(() => fhir<{ resourceType: string; issue?: Array<{ diagnostics?: string }> }>('GET', `${base}/${path}`));
        expect(value.status, `${path}: ${JSON.stringify(value.body)}`).to.equal(503);
        expect(value.body.resourceType).to.equal('OperationOutcome');
        expect(value.body.issue![0]!.diagnostics).to.match(/event store is unavailable/);
        expect(ms, path).to.be.below(1000);
      }
      const ready = await fhir<{ checks: Record<string, { ok: boolean }> }>('GET', `http://127.0.0.1:${g.port}/readyz`);
      expect(ready.status).to.equal(503);
      expect(ready.body.checks.redis!.ok).to.equal(false);
      // A bind on a fresh socket with a token issued before the pause: an error frame, quickly.
      const fresh = await WsClient.connect(`ws://127.0.0.1:${g.port}/ws`);
      clients.push(fresh);
      const { ms } = await timed(async () => {
        fresh.send(`bind-with-token ${held}`);
        return fresh.next((f) => f.resourceType === 'OperationOutcome' || JSON.stringify(f).includes('"handshake"'), 'an answer to the bind', 3000);
      });
      expect(JSON.stringify(fresh.frames.at(-1))).to.match(/event store is unavailable/);
      expect(ms, 'bind').to.be.below(1000);
      await new Promise((r) => setTimeout(r, 4000));
    } finally {
      redis.resume();
    }

    // By itself: tokens, binds, and the event path (subscriber, stream group) work again.
    await until(async () => (await fhir('GET', `${base}/Subscription/${sub.id}/$status`)).status === 200, '$status to answer again', 10_000);
    const again = await WsClient.connect(`ws://127.0.0.1:${g.port}/ws`);
    clients.push(again);
    again.send(`bind-with-token ${await token(g.port, sub.id)}`);
    await again.next((f) => JSON.stringify(f).includes('"handshake"'), 'a handshake after recovery', 5000);
    const producer = new Redis(redis.url);
    producer.on('error', () => undefined);
    try {
      await producer.xadd(STREAM, '*', 'event', observationEvent(1, 'p1'));
    } finally {
      producer.disconnect();
    }
    await until(() => receivedNumbers(sub.client, sub.id).length === 1 && receivedNumbers(again, sub.id).length === 1, 'the event after recovery, on both sockets', 10_000);
    expect(receivedNumbers(sub.client, sub.id)).to.deep.equal([1]);
  });
});
