import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { WsClient, notificationType } from '../support/ws-client.js';

interface Entry {
  fullUrl?: string;
  resource?: {
    resourceType: string;
    id?: string;
    type?: string;
    status?: string;
    eventsSinceSubscriptionStart?: string;
    notificationEvent?: Array<{ eventNumber: string; focus?: { reference: string } }>;
    subscription?: { reference: string };
  };
  request?: unknown;
  response?: unknown;
}
const entries = (f: Record<string, unknown>) => (f.entry as Entry[]) ?? [];

async function bind(gateway: Gateway, body: Record<string, unknown>, bindFrame: (token: string) => string): Promise<{ id: string; client: WsClient }> {
  const created = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Subscription`, body);
  expect(created.status, JSON.stringify(created.body)).to.equal(201);
  const res = await fhir<{ parameter: Array<{ name: string; valueString?: string; valueUrl?: string }> }>('POST', `${gateway.baseUrl}/Subscription/$get-ws-binding-token`, {
    resourceType: 'Parameters',
    parameter: [{ name: 'id', valueId: created.body.id }],
  });
  expect(res.status).to.equal(200);
  const p = (n: string) => res.body.parameter.find((x) => x.name === n)!;
  expect(p('websocket-url').valueUrl).to.equal(`ws://localhost:${gateway.port}/ws`);
  const client = await WsClient.connect(p('websocket-url').valueUrl!);
  client.send(bindFrame(p('token').valueString!));
  return { id: created.body.id, client };
}

describe('WebSocket notifications in each FHIR version’s shape', function () {
  this.timeout(30_000);

  describe('R4B', () => {
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

    it('sends history bundles whose first entry is an R4B SubscriptionStatus with request and response', async () => {
      const { id, client } = await bind(gateway, backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/b', content: 'full-resource' }), (t) => `bind-with-token: ${t}`);
      try {
        const handshake = await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
        expect(handshake.type).to.equal('history');
        expect(entries(handshake)[0]!.resource!.resourceType).to.equal('SubscriptionStatus');
        expect(entries(handshake)[0]!.resource!.eventsSinceSubscriptionStart).to.equal('0');
        const obs = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'b' }, subject: { reference: 'Patient/b' } });
        const note = await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
        const status = entries(note)[0]!;
        expect(status.request).to.deep.equal({ method: 'GET', url: `${gateway.baseUrl}/Subscription/${id}/$status` });
        expect(status.resource!.notificationEvent![0]!.eventNumber).to.equal('1');
        expect(entries(note)[1]!.resource).to.include({ resourceType: 'Observation', id: obs.body.id });
        expect(entries(note)[1]!.request).to.not.equal(undefined);
      } finally {
        client.close();
      }
    });
  });

  describe('R5', () => {
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

    it('sends subscription-notification bundles with an R5 SubscriptionStatus first', async () => {
      const { client } = await bind(
        gateway,
        {
          resourceType: 'Subscription',
          status: 'requested',
          topic: RECORD_CHANGE,
          filterBy: [{ resourceType: 'Observation', filterParameter: 'patient', value: 'Patient/r5' }],
          channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'websocket' },
          content: 'full-resource',
          contentType: 'application/fhir+json',
        },
        (t) => `bind-with-token ${t}`,
      );
      try {
        const handshake = await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
        expect(handshake.type).to.equal('subscription-notification');
        const obs = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'r5' }, subject: { reference: 'Patient/r5' } });
        const note = await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
        expect(note.type).to.equal('subscription-notification');
        const status = entries(note)[0]!;
        expect(status.resource!.resourceType).to.equal('SubscriptionStatus');
        expect(status.request).to.equal(undefined);
        expect(status.resource!.notificationEvent![0]!.focus!.reference).to.equal(`${gateway.baseUrl}/Observation/${obs.body.id}`);
        expect(entries(note)[1]!.resource).to.include({ resourceType: 'Observation', id: obs.body.id });
      } finally {
        client.close();
      }
    });
  });

  describe('Medplum dialect on /ws', () => {
    let upstream: DemoUpstream;
    let gateway: Gateway;
    before(async () => {
      upstream = await startUpstream();
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
    });

    it('answers JSON frames in Medplum’s dialect: pong, handshake with a relative reference, one event per bundle', async () => {
      const { id, client } = await bind(gateway, { resourceType: 'Subscription', status: 'active', reason: 'x', channel: { type: 'websocket' }, criteria: 'Observation?subject=Patient/mp' }, (t) =>
        JSON.stringify({ type: 'bind-with-token', payload: { token: t } }),
      );
      try {
        const handshake = await client.next((f) => notificationType(f) === 'handshake', 'the handshake');
        expect(entries(handshake)[0]!.resource!.subscription!.reference).to.equal(`Subscription/${id}`);
        client.send('{"type":"ping"}');
        await client.next((f) => f.type === 'pong', 'the pong');
        const obs = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'mp' }, subject: { reference: 'Patient/mp' } });
        const note = await client.next((f) => notificationType(f) === 'event-notification', 'the notification');
        expect(note.type).to.equal('history');
        expect(entries(note)[1]!.resource).to.include({ resourceType: 'Observation', id: obs.body.id });
      } finally {
        client.close();
      }
    });
  });
});
