import { expect } from 'chai';
import { DELIVERY_CHANNEL, type DeliveryMessage } from '../../src/events/delivery.js';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { startHttpServer } from '../support/http-server.js';
import { parseJsonSubscription } from '../../src/fhir/subscription-parse.js';

/** An Encounter event whose resource nests `depth` levels: JSON.parse takes it, JSON.stringify cannot. */
function deepEvent(id: string, depth: number): string {
  const nested = '{"extension":['.repeat(depth) + '{"url":"x"}' + ']}'.repeat(depth);
  return `{"interaction":"update","reference":"Encounter/${id}","versionId":"1","resource":{"resourceType":"Encounter","id":"${id}","status":"in-progress","subject":{"reference":"Patient/deep"},"extension":[${nested}]}}`;
}

describe('events a retry cannot fix', () => {
  let upstream: DemoUpstream;
  let gateway: Gateway;
  const deliveries: DeliveryMessage[] = [];

  before(async () => {
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', EVENTS_CHANNEL: 'fhir:resource-changes' });
    await gateway.engine.subscribe(DELIVERY_CHANNEL, (m) => void deliveries.push(JSON.parse(m) as DeliveryMessage));
    const res = await fhir('POST', `${gateway.baseUrl}/Subscription`, backportSubscription({ topic: RECORD_CHANGE, filter: 'Encounter?patient=Patient/deep' }));
    expect(res.status).to.equal(201);
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const publish = (message: string) => gateway.engine.publish('fhir:resource-changes', message, { raw: true });
  const rejected = async (reason: string) => {
    const metric = await gateway.metrics.registry.getSingleMetric('fsg_events_rejected_total')?.get();
    return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  };

  it('rejects 40 too-deep events at validation and still delivers the next good event at once', async () => {
    for (let i = 0; i < 40; i++) await publish(deepEvent(`deep${i}`, 20_000));
    await publish(
      JSON.stringify({
        interaction: 'update',
        reference: 'Encounter/fine',
        versionId: '1',
        resource: { resourceType: 'Encounter', id: 'fine', status: 'in-progress', subject: { reference: 'Patient/deep' } },
      }),
    );
    // Before the bound, each of these held one of the 32 processing slots through 80 s of retries.
    await until(() => deliveries.some((d) => d.event.reference === 'Encounter/fine'), 'the good event behind the bad ones', 5000);
    expect(deliveries.filter((d) => d.event.reference.startsWith('Encounter/deep'))).to.deep.equal([]);
    expect(await rejected('too-deep')).to.equal(40);
  });

  it('rejects an event larger than the bound with its own reason', async () => {
    const before = await rejected('too-large');
    const huge = 'x'.repeat(17 * 1024 * 1024);
    await publish(
      JSON.stringify({ interaction: 'update', reference: 'Encounter/huge', versionId: '1', resource: { resourceType: 'Encounter', id: 'huge', status: 'in-progress', text: { div: huge } } }),
    );
    await until(async () => (await rejected('too-large')) === before + 1, 'the rejection of the huge event');
  });
});

describe('events whose processing fails for a reason a retry cannot change', () => {
  let upstream: Awaited<ReturnType<typeof startHttpServer>>;
  let gateway: Gateway;
  const deliveries: DeliveryMessage[] = [];

  before(async () => {
    // The resource is read from the upstream (the event carries none), so no validation of the event
    // can see that it is too deep to serialise: only processing finds out.
    upstream = await startHttpServer((req, res) => {
      const id = /\/Encounter\/(deep\d+)/.exec(req.url ?? '')?.[1];
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      if (!id) return void res.end('{"resourceType":"Bundle","type":"searchset","entry":[]}');
      const nested = '{"extension":['.repeat(20_000) + '{"url":"x"}' + ']}'.repeat(20_000);
      res.end(`{"resourceType":"Encounter","id":"${id}","meta":{"versionId":"1"},"status":"in-progress","subject":{"reference":"Patient/deep"},"extension":[${nested}]}`);
    });
    gateway = await startTestGateway({
      FHIR_VERSION: 'R4',
      FHIR_UPSTREAM_URL: `${upstream.url}/fhir`,
      TOPICS_DIR: 'test/fixtures/topics',
      RESYNC_INTERVAL_MS: '86400000',
      EVENTS_CHANNEL: 'fhir:resource-changes',
    });
    await gateway.engine.subscribe(DELIVERY_CHANNEL, (m) => void deliveries.push(JSON.parse(m) as DeliveryMessage));
    const model = parseJsonSubscription(JSON.stringify(backportSubscription({ topic: RECORD_CHANGE, filter: 'Encounter?patient=Patient/deep' })), {
      fhirVersion: 'R4',
      topics: gateway.subscriptions.topics,
    });
    await gateway.subscriptions.registry.upsert({ ...model, id: 'deep-sub', status: 'active' });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('drops them at once, counted as unprocessable, and delivery goes on', async () => {
    for (let i = 0; i < 40; i++) await gateway.engine.publish('fhir:resource-changes', JSON.stringify({ interaction: 'update', reference: `Encounter/deep${i}`, versionId: '1' }), { raw: true });
    await gateway.engine.publish(
      'fhir:resource-changes',
      JSON.stringify({
        interaction: 'update',
        reference: 'Encounter/fine',
        versionId: '1',
        resource: { resourceType: 'Encounter', id: 'fine', status: 'in-progress', subject: { reference: 'Patient/deep' } },
      }),
      { raw: true },
    );
    // Retried, each held a processing slot for 80 s: the 41st event waited behind 32 of them.
    await until(() => deliveries.some((d) => d.event.reference === 'Encounter/fine'), 'the good event behind the failing ones', 10_000);
    await until(
      async () => ((await gateway.metrics.registry.getSingleMetric('fsg_events_rejected_total')?.get())?.values.find((v) => v.labels.reason === 'unprocessable')?.value ?? 0) === 40,
      'all 40 counted',
      10_000,
    );
    expect(deliveries.filter((d) => d.event.reference.startsWith('Encounter/deep'))).to.deep.equal([]);
  });
});
