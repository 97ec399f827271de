// Catch-up from the upstream's own _history, on both engines: a change no producer reported and
// the proxy never saw still produces its notification, once.
import { expect } from 'chai';
import { toEvent } from '../../src/events/catchup.js';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { receivedNumbers } from '../support/faults.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient } from '../support/ws-client.js';

describe('history entries as events', () => {
  it('reads create, update-as-create, update and delete the way producers and the proxy name them', () => {
    const resource = { resourceType: 'Patient', id: 'p', meta: { versionId: '2', lastUpdated: '2024-01-01T00:00:00.000Z' } };
    expect(toEvent('Patient', { resource, request: { method: 'PUT', url: 'Patient/p' }, response: { status: '200' } })).to.deep.equal({
      interaction: 'update',
      reference: 'Patient/p',
      versionId: '2',
      timestamp: '2024-01-01T00:00:00.000Z',
      resource,
    });
    expect(toEvent('Patient', { resource, request: { method: 'PUT', url: 'Patient/p' }, response: { status: '201 Created' } })?.interaction).to.equal('create');
    expect(toEvent('Patient', { resource, request: { method: 'POST', url: 'Patient' }, response: { status: '201' } })?.interaction).to.equal('create');
    expect(toEvent('Patient', { request: { method: 'DELETE', url: 'Patient/p' }, response: { status: '200', etag: 'W/"3"', lastModified: '2024-01-02T00:00:00Z' } })).to.deep.equal({
      interaction: 'delete',
      reference: 'Patient/p',
      versionId: '3',
      timestamp: '2024-01-02T00:00:00Z',
    });
    // Too little to name the version: skipped, never guessed.
    expect(toEvent('Patient', { request: { method: 'DELETE', url: 'Patient/p' }, response: { status: '200' } })).to.equal(undefined);
    expect(toEvent('Patient', { resource, request: { method: 'GET', url: 'Patient/p' } })).to.equal(undefined);
  });
});

for (const kind of ['memory', 'redis'] as const) {
  describe(`catch-up from the upstream's _history (${kind} engine)`, function () {
    this.timeout(60_000);
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    const clients: WsClient[] = [];

    before(async () => {
      if (kind === 'redis') redis = await startRedis();
      upstream = await startUpstream();
      gateway = await startTestGateway({
        FHIR_UPSTREAM_URL: upstream.url,
        TOPICS_DIR: 'test/fixtures/topics',
        CATCHUP_INTERVAL_MS: '1000',
        ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'c'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` } : {}),
      });
    });
    after(async () => {
      for (const c of clients) c.close();
      await gateway?.close();
      await upstream?.close();
      await redis?.stop();
    });

    it('notifies a change written directly at the upstream, once, after the interval', async () => {
      const base = gateway.baseUrl;
      const sub = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/direct' }));
      expect(sub.status).to.equal(201);
      const client = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      clients.push(client);
      const tokenAnswer = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${sub.body.id}/$get-ws-binding-token`);
      client.send(`bind-with-token ${tokenAnswer.body.parameter.find((p) => p.name === 'token')!.valueString!}`);
      await client.next((f) => JSON.stringify(f).includes('"handshake"'), 'the handshake');
      // Let a round see the type in use and note where the upstream's history stands.
      await until(async () => (await roundsRun(gateway)) >= 2, 'two catch-up rounds', 10_000);

      const direct = await fhir<{ id: string }>('POST', `${upstream.url}/Observation`, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'direct' },
        subject: { reference: 'Patient/direct' },
      });
      expect(direct.status).to.equal(201);
      await until(() => receivedNumbers(client, sub.body.id).length === 1, 'the notification of the direct write', 10_000);
      const note = JSON.stringify(client.frames.at(-1));
      expect(note).to.include(`Observation/${direct.body.id}`);
      // Later rounds read it again (the overlap) and recognise it as already handled.
      const rounds = await roundsRun(gateway);
      await until(async () => (await roundsRun(gateway)) >= rounds + 2, 'two more rounds', 10_000);
      expect(receivedNumbers(client, sub.body.id)).to.deep.equal([1]);
    });

    it('serves type-level history in the demo upstream, paged, since an instant', async () => {
      const since = new Date(Date.now() - 1000).toISOString();
      for (let i = 0; i < 3; i++) await fhir('POST', `${upstream.url}/Patient`, { resourceType: 'Patient', name: [{ family: `H${i}` }] });
      const page = await fhir<{ type: string; total: number; entry: unknown[]; link: Array<{ relation: string; url: string }> }>(
        'GET',
        `${upstream.url}/Patient/_history?_since=${encodeURIComponent(since)}&_count=2`,
      );
      expect(page.status).to.equal(200);
      expect(page.body.type).to.equal('history');
      expect(page.body.total).to.equal(3);
      expect(page.body.entry).to.have.length(2);
      const next = page.body.link.find((l) => l.relation === 'next')!.url;
      expect((await fhir<{ entry: unknown[] }>('GET', next)).body.entry).to.have.length(1);
      expect((await fhir('GET', `${upstream.url}/Patient/_history?_since=yesterday`)).status).to.equal(400);
    });
  });
}

async function roundsRun(gateway: Gateway): Promise<number> {
  return (await gateway.metrics.catchupRounds.get()).values.reduce((sum, v) => sum + v.value, 0);
}
