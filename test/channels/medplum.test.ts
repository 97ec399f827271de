import { expect } from 'chai';
import WebSocket from 'ws';
import type { Gateway } from '../../src/gateway.js';
import { fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

// @medplum/core 5 reads the global WebSocket when it loads; Node 20 has none.
(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { MedplumClient, SubscriptionManager } = await import('@medplum/core');

interface Bundle {
  resourceType: 'Bundle';
  entry?: Array<{ resource?: { resourceType: string; id?: string; type?: string; subscription?: { reference: string } } }>;
}

describe('Medplum’s own SubscriptionManager against the gateway', function () {
  this.timeout(30_000);
  let upstream: DemoUpstream;
  let gateway: Gateway;
  let manager: InstanceType<typeof SubscriptionManager> | undefined;

  before(async () => {
    upstream = await startUpstream();
    // Medplum's client talks to [base]/fhir/R4 and its WebSocket alias; tokens live 2 minutes so
    // the client's own renewal rule (renew when under 5 minutes are left) applies.
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, FHIR_BASE_PATH: '/fhir/R4', TOPICS_DIR: 'test/fixtures/topics', TOKEN_LIFETIME_SECONDS: '120' });
  });
  after(async () => {
    manager?.closeWebSocket();
    await gateway.close();
    await upstream.close();
  });

  it('fires connect, then message with the written resource, and survives a token renewal', async () => {
    const origin = `http://127.0.0.1:${gateway.port}/`;
    const medplum = new MedplumClient({ baseUrl: origin, fhirUrlPath: 'fhir/R4' });
    // The client subscribes only for a signed-in profile (it would get 401s otherwise); the demo
    // upstream has no login, so give it the session a signed-in app would have.
    (medplum as unknown as { sessionDetails: { profile: { resourceType: string; id: string } } }).sessionDetails = { profile: { resourceType: 'Practitioner', id: 'doc' } };
    manager = new SubscriptionManager(medplum, `ws://127.0.0.1:${gateway.port}/ws/subscriptions-r4`);
    const emitter = manager.addCriteria('Communication?recipient=Practitioner/doc');
    const connected: string[] = [];
    const messages: Bundle[] = [];
    const errors: unknown[] = [];
    emitter.addEventListener('connect', (e) => connected.push(e.payload.subscriptionId));
    emitter.addEventListener('message', (e) => messages.push(e.payload as Bundle));
    emitter.addEventListener('error', (e) => errors.push(e.payload));

    await until(() => connected.length === 1, 'connect');
    const subscriptionId = connected[0]!;
    expect(gateway.subscriptions.registry.get(subscriptionId)?.criteria).to.equal('Communication?recipient=Practitioner/doc');

    const write = async (text: string) => {
      const res = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Communication`, {
        resourceType: 'Communication',
        status: 'completed',
        recipient: [{ reference: 'Practitioner/doc' }],
        payload: [{ contentString: text }],
      });
      expect(res.status).to.equal(201);
      return res.body.id;
    };
    const first = await write('before renewal');
    await until(() => messages.length === 1, 'the first message');
    const status = messages[0]!.entry![0]!.resource!;
    expect(status.resourceType).to.equal('SubscriptionStatus');
    expect(status.subscription!.reference).to.equal(`Subscription/${subscriptionId}`);
    expect(messages[0]!.entry![1]!.resource).to.include({ resourceType: 'Communication', id: first });

    // The client renews tokens that expire within 5 minutes, checking every minute: run its check
    // now instead of waiting a minute.
    (manager as unknown as { checkTokenExpirations(): void }).checkTokenExpirations();
    await until(() => connected.length === 2, 'the re-bind handshake (connect again)');

    const second = await write('after renewal');
    await until(() => messages.length === 2, 'the message after renewal');
    expect(messages[1]!.entry![1]!.resource).to.include({ resourceType: 'Communication', id: second });
    expect(errors).to.deep.equal([]);
  });
});
