import { expect } from 'chai';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { GatewayProcess } from '../support/process.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

async function activeOn(port: number): Promise<number> {
  const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
  return Number(/^fsg_subscriptions_active (\d+)$/m.exec(text)?.[1] ?? NaN);
}

describe('two gateway replicas on one Redis', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let upstream: DemoUpstream;
  let first: Gateway;
  let second: GatewayProcess;
  let secondPort: number;
  let env: Record<string, string>;

  before(async () => {
    redis = await startRedis();
    upstream = await startUpstream();
    // A resync interval of an hour: whatever the second replica learns, it learns through Redis.
    env = {
      FHIR_UPSTREAM_URL: upstream.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.newPrefix(),
      TOKEN_SECRET: 'r'.repeat(32),
      TOPICS_DIR: 'test/fixtures/topics',
      RESYNC_INTERVAL_MS: '3600000',
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

  it('the second replica sees a subscription created, then deleted, through the first', async () => {
    expect(await activeOn(secondPort)).to.equal(0);
    const created = await fhir<{ id: string }>('POST', `${first.baseUrl}/Subscription`, backportSubscription());
    expect(created.status).to.equal(201);
    await until(async () => (await activeOn(secondPort)) === 1, 'the second replica to see the subscription');

    // Its $status reads the same registry and counters.
    const status = await fhir<{ entry: Array<{ resource: { parameter: Array<{ name: string; valueCode?: string }> } }> }>(
      'GET',
      `http://127.0.0.1:${secondPort}/fhir/Subscription/${created.body.id}/$status`,
    );
    expect(status.body.entry[0]!.resource.parameter.find((p) => p.name === 'status')!.valueCode).to.equal('active');

    const deleted = await fhir('DELETE', `${first.baseUrl}/Subscription/${created.body.id}`);
    expect(deleted.status).to.be.oneOf([200, 204]);
    await until(async () => (await activeOn(secondPort)) === 0, 'the second replica to drop the subscription', 1000);
  });

  it('a replica started later loads the registry the others built', async () => {
    const created = await fhir<{ id: string }>('POST', `${first.baseUrl}/Subscription`, backportSubscription());
    expect(created.status).to.equal(201);
    const late = await startTestGateway(env);
    try {
      expect(late.subscriptions.registry.get(created.body.id)).not.to.equal(undefined);
    } finally {
      await late.close();
    }
  });
});
