import { expect } from 'chai';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { DELIVERY_CHANNEL, type DeliveryMessage } from '../../src/events/delivery.js';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { GatewayProcess } from '../support/process.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

async function metric(port: number, pattern: RegExp): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('event pipeline on two replicas', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let upstream: DemoUpstream;
  let first: Gateway;
  let second: GatewayProcess;
  let secondPort: number;
  let eventsChannel: string;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    eventsChannel = `${redis.newPrefix()}events`;
    const env = {
      FHIR_UPSTREAM_URL: upstream.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.newPrefix(),
      TOKEN_SECRET: 'r'.repeat(32),
      TOPICS_DIR: 'test/fixtures/topics',
      EVENTS_CHANNEL: eventsChannel,
      EVENT_LOG_MAX: '2000',
    };
    first = await startTestGateway(env);
    second = new GatewayProcess({ ...env, PORT: '0' });
    secondPort = await second.listening();
  });
  after(async () => {
    await second?.stop();
    await first?.close();
    await upstream?.close();
    await redis?.stop();
  });

  it('1,000 events published while both run: each matching subscription gets each event exactly once, numbered 1..n', async () => {
    const all = (await fhir<{ id: string }>('POST', `${first.baseUrl}/Subscription`, backportSubscription({ topic: RECORD_CHANGE }))).body.id;
    const p1 = (await fhir<{ id: string }>('POST', `${first.baseUrl}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/p1' }))).body.id;
    const p2 = (await fhir<{ id: string }>('POST', `${first.baseUrl}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/p2' }))).body.id;
    await until(async () => (await metric(secondPort, /^fsg_subscriptions_active (\d+)$/gm)) === 3, 'the second replica to know the subscriptions', 5000);

    const received: DeliveryMessage[] = [];
    await first.engine.subscribe(DELIVERY_CHANNEL, (m) => void received.push(JSON.parse(m) as DeliveryMessage));

    const producer = new Redis(redis.url);
    producer.on('error', () => undefined);
    const batch = producer.pipeline();
    for (let i = 0; i < 1000; i++) {
      const resource = { resourceType: 'Observation', id: `o${i}`, meta: { versionId: '1' }, status: 'final', code: { text: 'load' }, subject: { reference: `Patient/p${(i % 2) + 1}` } };
      batch.publish(eventsChannel, JSON.stringify({ interaction: 'create', reference: `Observation/o${i}`, versionId: '1', timestamp: new Date().toISOString(), resource }));
    }
    await batch.exec();
    producer.disconnect();

    const numbers = (id: string) => received.flatMap((d) => d.matches.filter(([s]) => s === id).map(([, n]) => n));
    await until(() => numbers(all).length >= 1000 && numbers(p1).length >= 500 && numbers(p2).length >= 500, 'every delivery', 60_000);
    await new Promise((r) => setTimeout(r, 300));

    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(numbers(all).sort((a, b) => a - b)).to.deep.equal(range(1000));
    expect(numbers(p1).sort((a, b) => a - b)).to.deep.equal(range(500));
    expect(numbers(p2).sort((a, b) => a - b)).to.deep.equal(range(500));
    // Each event reached each of its subscriptions once, whichever replica claimed it.
    const seen = new Set<string>();
    for (const d of received)
      for (const [s] of d.matches) {
        const key = `${s}:${d.event.eventId}`;
        expect(seen.has(key), key).to.equal(false);
        seen.add(key);
      }
    const processed = [await metric(first.port, /^fsg_events_processed_total\{outcome="matched"\} (\d+)$/gm), await metric(secondPort, /^fsg_events_processed_total\{outcome="matched"\} (\d+)$/gm)];
    expect(processed[0]! + processed[1]!).to.equal(1000);
  });
});
