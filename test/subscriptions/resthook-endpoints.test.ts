import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { ADMISSION, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

// Issue 8 item 9: the rest-hook endpoint rule holds on the Subscription write path already, ahead
// of rest-hook delivery (which is still refused with 422 not-supported). No engine is involved.

interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics?: string; expression?: string[] }>;
}

const restHook = (endpoint: string) => {
  const s = backportSubscription({ channelType: 'rest-hook' });
  (s.channel as Record<string, unknown>).endpoint = endpoint;
  return s;
};

describe('rest-hook endpoints on Subscription writes', function () {
  this.timeout(30_000);
  let upstream: DemoUpstream;
  let r5: DemoUpstream;
  let strict: Gateway;
  let allowing: Gateway;
  let r5Gateway: Gateway;

  before(async () => {
    [upstream, r5] = await Promise.all([startUpstream(), startUpstream({ fhirVersion: 'R5' })]);
    const env = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' };
    strict = await startTestGateway(env);
    allowing = await startTestGateway({ ...env, RESTHOOK_ALLOW: 'localhost, 10.0.0.0/8' });
    r5Gateway = await startTestGateway({ FHIR_UPSTREAM_URL: r5.url, TOPICS_DIR: 'test/fixtures/topics' });
  });
  after(async () => {
    await Promise.all([strict?.close(), allowing?.close(), r5Gateway?.close()]);
    await Promise.all([upstream?.close(), r5?.close()]);
  });

  const stored = async (u: DemoUpstream) => (await fhir<{ entry?: unknown[] }>('GET', `${u.url}/Subscription?_count=1000`)).body.entry?.length ?? 0;

  const refusals: Array<[string, RegExp]> = [
    ['https://localhost/hook', /loopback/],
    ['https://127.0.0.1:8443/hook', /loopback/],
    ['https://2130706433/hook', /loopback/],
    ['https://10.1.2.3/hook', /private/],
    ['https://169.254.169.254/latest/meta-data/', /metadata/],
    ['https://metadata.google.internal/', /metadata/],
    ['http://hooks.example.org/hook', /https/],
  ];
  for (const [endpoint, reason] of refusals) {
    it(`refuses ${endpoint} with 422 naming channel.endpoint, forwarding nothing`, async () => {
      const before = await stored(upstream);
      const res = await fhir<OperationOutcome>('POST', `${strict.baseUrl}/Subscription`, restHook(endpoint));
      expect(res.status).to.equal(422);
      expect(res.body.issue[0]!.expression).to.deep.equal(['Subscription.channel.endpoint']);
      expect(res.body.issue[0]!.diagnostics).to.match(reason);
      expect(await stored(upstream)).to.equal(before);
    });
  }

  it('refuses it on update too', async () => {
    const created = await fhir<{ id: string }>('POST', `${strict.baseUrl}/Subscription`, backportSubscription());
    const res = await fhir<OperationOutcome>('PUT', `${strict.baseUrl}/Subscription/${created.body.id}`, { ...restHook('https://[::1]/'), id: created.body.id });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0]!.diagnostics).to.match(/loopback/);
  });

  it('an endpoint RESTHOOK_ALLOW names passes the rule (and meets the rest-hook refusal that still stands)', async () => {
    for (const endpoint of ['http://localhost:9000/hook', 'https://10.1.2.3/hook']) {
      const res = await fhir<OperationOutcome>('POST', `${allowing.baseUrl}/Subscription`, restHook(endpoint));
      expect(res.status).to.equal(422);
      expect(res.body.issue[0]!.expression).to.deep.equal(['Subscription.channel.type']);
      expect(res.body.issue[0]!.diagnostics).to.match(/rest-hook is not supported/);
    }
    const res = await fhir<OperationOutcome>('POST', `${allowing.baseUrl}/Subscription`, restHook('https://192.168.1.1/hook'));
    expect(res.body.issue[0]!.diagnostics).to.match(/private/);
  });

  it('on an R5 server the rule applies to Subscription.endpoint', async () => {
    const res = await fhir<OperationOutcome>('POST', `${r5Gateway.baseUrl}/Subscription`, {
      resourceType: 'Subscription',
      status: 'requested',
      topic: ADMISSION,
      channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'rest-hook' },
      endpoint: 'https://localhost/hook',
      contentType: 'application/fhir+json',
      content: 'id-only',
    });
    expect(res.status).to.equal(422);
    expect(res.body.issue[0]!.expression).to.deep.equal(['Subscription.endpoint']);
    expect(res.body.issue[0]!.diagnostics).to.match(/loopback/);
  });
});
