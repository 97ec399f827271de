import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { ADMISSION, backportSubscription, fhir, type Bundle, type Resource } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

interface Cs {
  instantiates?: string[];
  rest: Array<{
    mode: string;
    resource: Array<{
      type: string;
      supportedProfile?: string[];
      interaction?: Array<{ code: string }>;
      searchParam?: Array<{ name: string }>;
      operation?: Array<{ name: string; definition: string }>;
    }>;
  }>;
}

const BACKPORT_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription';

describe('FHIR versions', () => {
  describe('against an R4B server', () => {
    let upstream: DemoUpstream;
    let gateway: Gateway;
    before(async () => {
      upstream = await startUpstream({ fhirVersion: 'R4B' });
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
    });

    it('reads the version from the upstream’s CapabilityStatement', () => {
      expect(gateway.fhirVersion).to.equal('R4B');
    });

    it('advertises the backport profile, the R4B server statement and SubscriptionTopic', async () => {
      const cs = (await fhir<Cs>('GET', `${gateway.baseUrl}/metadata`)).body;
      const resources = cs.rest.find((r) => r.mode === 'server')!.resource;
      expect(resources.find((r) => r.type === 'Subscription')!.supportedProfile).to.include(BACKPORT_PROFILE);
      expect(cs.instantiates).to.include('http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server');
      const topic = resources.find((r) => r.type === 'SubscriptionTopic')!;
      expect(topic.searchParam!.map((p) => p.name)).to.include.members(['url', 'derived-or-self']);
    });

    it('accepts a backport Subscription asking for R4B notifications, and answers $status with a SubscriptionStatus', async () => {
      const created = await fhir<{ id: string; status: string }>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription({ payload: 'application/fhir+json; fhirVersion=4.3' }));
      expect(created.status).to.equal(201);
      expect(gateway.subscriptions.registry.get(created.body.id)?.notificationVersion).to.equal('R4B');
      const status = await fhir<Bundle>('GET', `${gateway.baseUrl}/Subscription/${created.body.id}/$status`);
      expect(status.body.type).to.equal('searchset');
      const resource = status.body.entry![0]!.resource;
      expect(resource.resourceType).to.equal('SubscriptionStatus');
      expect(resource.type).to.equal('query-status');
      expect(resource.status).to.equal('active');
      expect(resource.eventsSinceSubscriptionStart).to.equal('0');
      expect((resource.subscription as { reference: string }).reference).to.equal(`${gateway.baseUrl}/Subscription/${created.body.id}`);
      expect(resource.topic).to.equal(ADMISSION);
    });

    it('answers SubscriptionTopic search by url and read by id, in R4B shape', async () => {
      const found = await fhir<Bundle>('GET', `${gateway.baseUrl}/SubscriptionTopic?url=${encodeURIComponent(ADMISSION)}`);
      expect(found.status).to.equal(200);
      expect(found.body.entry).to.have.length(1);
      const topic = found.body.entry![0]!.resource;
      expect(topic.resourceType).to.equal('SubscriptionTopic');
      expect(topic.url).to.equal(ADMISSION);
      const read = await fhir<Resource>('GET', `${gateway.baseUrl}/SubscriptionTopic/${topic.id}`);
      expect(read.status).to.equal(200);
      expect(read.body.url).to.equal(ADMISSION);
      const missing = await fhir<Resource>('GET', `${gateway.baseUrl}/SubscriptionTopic/nope`);
      expect(missing.status).to.equal(404);
      expect(missing.body.resourceType).to.equal('OperationOutcome');
    });

    it('rejects an R5 notification version on an R4B server', async () => {
      const res = await fhir<Resource>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription({ payload: 'application/fhir+json; fhirVersion=5.0' }));
      expect(res.status).to.equal(422);
    });
  });

  describe('against an R5 server', () => {
    let upstream: DemoUpstream;
    let gateway: Gateway;
    before(async () => {
      upstream = await startUpstream({ fhirVersion: 'R5' });
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
    });

    const r5Subscription = (extra: Record<string, unknown> = {}) => ({
      resourceType: 'Subscription',
      status: 'requested',
      topic: ADMISSION,
      filterBy: [{ resourceType: 'Encounter', filterParameter: 'patient', value: 'Patient/7' }],
      channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'websocket' },
      content: 'full-resource',
      contentType: 'application/fhir+json',
      heartbeatPeriod: 60,
      ...extra,
    });

    it('reads the version from the upstream’s CapabilityStatement', () => {
      expect(gateway.fhirVersion).to.equal('R5');
    });

    it('advertises the R5 operations', async () => {
      const cs = (await fhir<Cs>('GET', `${gateway.baseUrl}/metadata`)).body;
      const sub = cs.rest.find((r) => r.mode === 'server')!.resource.find((r) => r.type === 'Subscription')!;
      expect(sub.operation!.map((o) => o.definition)).to.include.members([
        'http://hl7.org/fhir/OperationDefinition/Subscription-status',
        'http://hl7.org/fhir/OperationDefinition/Subscription-get-ws-binding-token',
      ]);
    });

    it('accepts an R5 Subscription with filterBy, and answers $status with an R5 SubscriptionStatus', async () => {
      const created = await fhir<{ id: string; status: string }>('POST', `${gateway.baseUrl}/Subscription`, r5Subscription());
      expect(created.status).to.equal(201);
      expect(created.body.status).to.equal('active');
      const model = gateway.subscriptions.registry.get(created.body.id)!;
      expect(model.filters).to.deep.equal([{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/7' }]);
      expect(model.heartbeatPeriod).to.equal(60);
      expect(model.content).to.equal('full-resource');
      const status = await fhir<Bundle>('GET', `${gateway.baseUrl}/Subscription/${created.body.id}/$status`);
      const resource = status.body.entry![0]!.resource;
      expect(resource.resourceType).to.equal('SubscriptionStatus');
      expect(resource.type).to.equal('query-status');
      expect(resource.topic).to.equal(ADMISSION);
    });

    it('rejects an R5 filter with both a comparator and a modifier, and a backport body', async () => {
      const both = await fhir<Resource>(
        'POST',
        `${gateway.baseUrl}/Subscription`,
        r5Subscription({ filterBy: [{ filterParameter: 'patient', comparator: 'eq', modifier: 'not', value: 'Patient/7' }] }),
      );
      expect(both.status).to.equal(422);
      const backport = await fhir<Resource>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription());
      expect(backport.status).to.equal(400);
    });
  });

  it('FHIR_VERSION wins over what the upstream declares', async () => {
    const upstream = await startUpstream();
    const gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, FHIR_VERSION: 'R4B', TOPICS_DIR: 'test/fixtures/topics' });
    try {
      expect(gateway.fhirVersion).to.equal('R4B');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('fails to start, saying what to do, when the upstream cannot tell its version in time', async () => {
    const err = await startTestGateway({ FHIR_UPSTREAM_URL: 'http://127.0.0.1:1/fhir', UPSTREAM_WAIT_MS: '300' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/set FHIR_VERSION/);
  });
});
