// The durable input's behaviour, on both engines: producers' stream entries are notified and
// acknowledged, entries a stopped consumer left pending are taken over, and the proxy's own
// writes are in the stream before their answer completes.
import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { receivedEvents } from '../support/faults.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient } from '../support/ws-client.js';

for (const kind of ['memory', 'redis'] as const) {
  describe(`events stream input (${kind} engine)`, function () {
    this.timeout(60_000);
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let stream: string;
    let group: string;
    let client: WsClient;
    let subscription: string;

    before(async () => {
      if (kind === 'redis') redis = await startRedis();
      upstream = await startUpstream();
      const prefix = redis ? redis.newPrefix() : 'fsg:';
      stream = `${redis ? redis.newPrefix() : 'mem:'}events-in`;
      group = `${prefix}gateway`;
      gateway = await startTestGateway({
        FHIR_UPSTREAM_URL: upstream.url,
        TOPICS_DIR: 'test/fixtures/topics',
        EVENTS_STREAM: stream,
        EVENTS_STREAM_RECLAIM_MS: '1000',
        CATCHUP_INTERVAL_MS: '0',
        // The producers' events name resources the upstream does not hold; who may see what is not under test.
        DELIVERY_AUTHORIZATION: 'none',
        ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, TOKEN_SECRET: 's'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` } : {}),
      });
      const base = gateway.baseUrl;
      subscription = (await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: RECORD_CHANGE }))).body.id;
      client = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      const t = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${subscription}/$get-ws-binding-token`);
      client.send(`bind-with-token ${t.body.parameter.find((p) => p.name === 'token')!.valueString!}`);
      await client.next((f) => JSON.stringify(f).includes('"handshake"'), 'the handshake');
    });
    after(async () => {
      client?.close();
      await gateway?.close();
      await upstream?.close();
      await redis?.stop();
    });

    const event = (id: string) =>
      JSON.stringify({
        interaction: 'create',
        reference: `Observation/${id}`,
        versionId: '1',
        resource: { resourceType: 'Observation', id, meta: { versionId: '1' }, status: 'final', code: { text: 's' } },
      });
    const focuses = () => receivedEvents(client, subscription).map((e) => e.focus);

    it('notifies what producers add, and acknowledges it once numbered (an entry without an event field too)', async () => {
      await gateway.engine.streamAdd(stream, { event: event('s1') }, 1000);
      await gateway.engine.streamAdd(stream, { other: 'x' }, 1000);
      await until(() => focuses().includes('Observation/s1'), 'the notification');
      // Acknowledged: nothing for anyone to reclaim, however idle.
      await until(async () => (await gateway.engine.streamClaimIdle(stream, group, 'probe', 0, 10)).length === 0, 'no pending entry');
    });

    it('takes over an event a replica died holding: left pending while its lease runs, then processed once', async () => {
      // The dead replica's lease on the event, as it left it (the key is the pipeline's claim).
      expect(await gateway.engine.claim('ingest:Observation/orphan/_history/1:create', 1500)).to.equal(true);
      await gateway.engine.streamAdd(stream, { event: event('orphan') }, 1000);
      await new Promise((r) => setTimeout(r, 500));
      expect(focuses(), 'not while the lease holds').to.not.include('Observation/orphan');
      await until(() => focuses().includes('Observation/orphan'), 'the notification once the lease ran out and the entry was reclaimed', 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(focuses().filter((f) => f === 'Observation/orphan')).to.have.length(1);
      expect((await gateway.metrics.streamEntries.get()).values.find((v) => v.labels.how === 'reclaimed')?.value ?? 0).to.be.above(0);
    });

    it("stores a proxied write's event in the stream before the client has the answer", async () => {
      await gateway.engine.streamEnsureGroup(stream, 'probe');
      const created = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'proxied' } });
      expect(created.status).to.equal(201);
      const entries = await gateway.engine.streamRead(stream, 'probe', 'probe', { count: 100, blockMs: 0 });
      const events = entries.map((e) => JSON.parse(e.fields.event!) as { reference: string; interaction: string });
      expect(events.map((e) => [e.interaction, e.reference])).to.deep.include(['create', `Observation/${created.body.id}`]);
      await until(() => focuses().includes(`Observation/${created.body.id}`), 'its notification, once');
      expect(focuses().filter((f) => f === `Observation/${created.body.id}`)).to.have.length(1);
    });
  });
}
