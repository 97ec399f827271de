import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { as, startAccessGateway, tokenRefused, type AccessSetup } from '../support/access-gateway.js';
import { USERS, type AccessUpstream } from '../support/access-upstream.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { until } from '../support/wait.js';

// Issue 8 item 4: Subscription entries of transactions and batches are validated like direct writes
// before anything reaches the upstream, and reach the registry from the upstream's answer at once.

interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics?: string; expression?: string[] }>;
}
interface ResponseBundle {
  resourceType: 'Bundle';
  type: string;
  entry: Array<{ response: { status: string; location?: string } }>;
}
type Entry = { resource?: unknown; request: { method: string; url: string; ifNoneExist?: string } };

const bundle = (type: 'transaction' | 'batch', entry: Entry[]) => ({ resourceType: 'Bundle', type, entry });
const patient = (family: string): Entry => ({ resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } });
const createSubscription = (overrides: Parameters<typeof backportSubscription>[0] = {}): Entry => ({ resource: backportSubscription(overrides), request: { method: 'POST', url: 'Subscription' } });
const idOf = (location: string | undefined) => /Subscription\/([^/]+)/.exec(location ?? '')?.[1];

for (const kind of ['memory', 'redis'] as const) {
  describe(`Subscriptions in transactions and batches (${kind} engine, access-checking upstream)`, function () {
    this.timeout(30_000);
    let setup: AccessSetup;
    let access: AccessUpstream;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      setup = await startAccessGateway(kind);
      ({ access, gateway } = setup);
      base = gateway.baseUrl;
    });
    after(() => setup?.close());

    const post = <T>(body: unknown, user: string = USERS.clinician) => fhir<T>('POST', base, body, as(user));
    /** Requests the gateway made to the upstream on a caller's behalf (its own service reads aside). */
    const callerRequests = () => access.requests.filter((r) => r.user !== USERS.service).length;

    async function created(user: string = USERS.clinician): Promise<{ id: string; resource: Record<string, unknown> }> {
      const res = await fhir<Record<string, unknown> & { id: string }>('POST', `${base}/Subscription`, backportSubscription(), as(user));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return { id: res.body.id, resource: res.body };
    }

    const revoked = (token: string) => tokenRefused(gateway, token);

    it('a bad Subscription entry fails the whole request naming the entry, and nothing reaches the upstream', async () => {
      const before = callerRequests();
      const res = await post<OperationOutcome>(
        bundle('transaction', [patient('One'), patient('Two'), createSubscription(), createSubscription({ topic: 'http://example.org/fhir/SubscriptionTopic/nope' })]),
      );
      expect(res.status).to.equal(422);
      expect(res.body.resourceType).to.equal('OperationOutcome');
      expect(res.body.issue[0]!.diagnostics).to.match(/^Bundle\.entry\[3\]: .*topic/i);
      expect(res.body.issue[0]!.expression![0]).to.match(/^Bundle\.entry\[3\]\.resource/);
      expect(callerRequests()).to.equal(before);
    });

    const refusals: Array<[string, Entry, number, RegExp]> = [
      ['a malformed Subscription', { resource: { resourceType: 'Subscription', status: 'requested', criteria: 42 }, request: { method: 'POST', url: 'Subscription' } }, 400, /criteria/],
      [
        'a rest-hook Subscription to a loopback endpoint',
        { resource: { ...backportSubscription({ channelType: 'rest-hook' }), channel: { type: 'rest-hook', endpoint: 'https://localhost/hook' } }, request: { method: 'POST', url: 'Subscription' } },
        422,
        /loopback/,
      ],
      [
        'a PATCH of a Subscription',
        { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: 'W10=' }, request: { method: 'PATCH', url: 'Subscription/abc' } },
        422,
        /PATCH/,
      ],
      ['a conditional update of Subscription', { resource: backportSubscription(), request: { method: 'PUT', url: 'Subscription?status=active' } }, 422, /conditional/i],
      ['a conditional create of Subscription', { ...createSubscription(), request: { method: 'POST', url: 'Subscription', ifNoneExist: 'status=active' } }, 422, /conditional/i],
      ['a conditional delete of Subscription', { request: { method: 'DELETE', url: 'Subscription?status=active' } }, 422, /conditional/i],
      ['a Subscription written at another type', { resource: backportSubscription(), request: { method: 'POST', url: 'Basic' } }, 400, /written at Subscription/],
      ['a PUT whose id differs from the URL', { resource: { ...backportSubscription(), id: 'other' }, request: { method: 'PUT', url: 'Subscription/this' } }, 400, /must match/],
      ['an absolute URL on the public base', { resource: backportSubscription({ status: 'error' }), request: { method: 'POST', url: 'PUBLIC/Subscription' } }, 422, /error/],
    ];
    for (const [what, entry, status, message] of refusals) {
      for (const type of ['transaction', 'batch'] as const) {
        it(`refuses ${what} in a ${type} with ${status}, forwarding nothing`, async () => {
          const e = JSON.parse(JSON.stringify(entry).replace('PUBLIC', base)) as Entry;
          const before = callerRequests();
          const res = await post<OperationOutcome>(bundle(type, [patient('Before'), e]));
          expect(res.status, JSON.stringify(res.body)).to.equal(status);
          expect(res.body.issue[0]!.diagnostics)
            .to.match(/^Bundle\.entry\[1\]/)
            .and.match(message);
          expect(res.body.issue[0]!.expression![0]).to.match(/^Bundle\.entry\[1\]/);
          expect(callerRequests()).to.equal(before);
        });
      }
    }

    it('a create inside a transaction is stored active and in the registry when the answer arrives', async () => {
      const res = await post<ResponseBundle>(bundle('transaction', [patient('Tx'), createSubscription({ status: 'requested' })]));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const id = idOf(res.body.entry[1]!.response.location);
      expect(id).to.be.a('string');
      expect(gateway.subscriptions.registry.get(id!)?.status).to.equal('active');
      const stored = await fhir<{ status: string }>('GET', `${access.demo.url}/Subscription/${id}`);
      expect(stored.body.status).to.equal('active');
    });

    it('a delete inside a transaction removes it from the registry at once and revokes its tokens', async () => {
      const { id } = await created();
      const { token } = await gateway.tokens.issue([id]);
      const res = await post<ResponseBundle>(bundle('transaction', [patient('Del'), { request: { method: 'DELETE', url: `Subscription/${id}` } }]));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(gateway.subscriptions.registry.get(id)).to.equal(undefined);
      await until(() => revoked(token), 'the token is revoked');
    });

    it('an update to off inside a batch deactivates it at once; a batch entry the upstream refuses changes nothing', async () => {
      const mine = await created();
      const res = await post<ResponseBundle>(
        bundle('batch', [
          { resource: { ...mine.resource, status: 'off' }, request: { method: 'PUT', url: `Subscription/${mine.id}` } },
          { request: { method: 'DELETE', url: 'Subscription/does-not-exist' } },
        ]),
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.entry[0]!.response.status).to.match(/^200/);
      expect(gateway.subscriptions.registry.get(mine.id)).to.equal(undefined);
      const stored = await fhir<{ status: string }>('GET', `${access.demo.url}/Subscription/${mine.id}`);
      expect(stored.body.status).to.equal('off');
    });

    it("a colleague's transaction deleting the clinician's subscription is refused upstream and changes nothing", async () => {
      const { id } = await created(USERS.clinician);
      const { token } = await gateway.tokens.issue([id]);
      const res = await post(bundle('transaction', [{ request: { method: 'DELETE', url: `Subscription/${id}` } }]), USERS.colleague);
      expect(res.status).to.be.at.least(400);
      await new Promise((r) => setTimeout(r, 200));
      expect(gateway.subscriptions.registry.get(id)).to.not.equal(undefined);
      expect(await revoked(token)).to.equal(false);
    });

    it('the other entries of a transaction with Subscription entries still produce their events', async () => {
      const watcher = await fhir<{ id: string }>(
        'POST',
        `${base}/Subscription`,
        backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/bundle-events' }),
        as(USERS.clinician),
      );
      expect(watcher.status).to.equal(201);
      const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/bundle-events' } };
      const res = await post<ResponseBundle>(bundle('transaction', [createSubscription(), { resource: observation, request: { method: 'POST', url: 'Observation' } }]));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      type StatusBundle = { entry: Array<{ resource: { parameter: Array<{ name: string; valueString?: string }> } }> };
      const numbered = async () => {
        const status = await fhir<StatusBundle>('GET', `${base}/Subscription/${watcher.body.id}/$status`, undefined, as(USERS.clinician));
        return status.body.entry[0]!.resource.parameter.find((p) => p.name === 'events-since-subscription-start')?.valueString;
      };
      await until(async () => (await numbered()) === '1', 'the Observation of the transaction is numbered for the watcher');
    });

    it('a transaction without Subscription entries is forwarded as it was sent', async () => {
      const res = await post<ResponseBundle>(bundle('transaction', [patient('Plain'), { request: { method: 'GET', url: 'Subscription' } }]));
      expect(res.status).to.equal(200);
      expect(res.body.type).to.equal('transaction-response');
    });

    it('answers a Subscription entry nested too deeply to forward with 400, not 500', async () => {
      const before = callerRequests();
      const deep = '['.repeat(200_000) + ']'.repeat(200_000);
      const subscription = JSON.stringify(backportSubscription()).replace(/}$/, `,"x-deep":${deep}}`);
      const text = `{"resourceType":"Bundle","type":"batch","entry":[{"resource":${subscription},"request":{"method":"POST","url":"Subscription"}}]}`;
      const res = await fhir<OperationOutcome>('POST', base, text, as(USERS.clinician));
      expect(res.status).to.equal(400);
      expect(res.body.issue[0]!.diagnostics).to.match(/nested too deeply/);
      expect(callerRequests()).to.equal(before);
    });

    it('inspects a compressed transaction decompressed: a bad entry is refused, a good one reaches the registry', async () => {
      const send = async (body: unknown, encoding: string) => {
        const res = await request(base.replace('//localhost:', '//127.0.0.1:'), {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', 'content-encoding': encoding, ...as(USERS.clinician) },
          body: encoding === 'gzip' ? gzipSync(JSON.stringify(body)) : JSON.stringify(body),
        });
        return { status: res.statusCode, body: (await res.body.json()) as Omit<ResponseBundle, 'resourceType'> & Omit<OperationOutcome, 'resourceType'> };
      };
      const before = callerRequests();
      const bad = await send(bundle('transaction', [patient('Gz'), createSubscription({ channelType: 'email' })]), 'gzip');
      expect(bad.status).to.equal(422);
      expect(bad.body.issue[0]!.diagnostics).to.match(/^Bundle\.entry\[1\]/);
      const unknown = await send(bundle('transaction', [createSubscription()]), 'zstd');
      expect(unknown.status).to.equal(415);
      expect(callerRequests()).to.equal(before);
      const good = await send(bundle('transaction', [createSubscription()]), 'gzip');
      expect(good.status, JSON.stringify(good.body)).to.equal(200);
      expect(gateway.subscriptions.registry.get(idOf(good.body.entry[0]!.response.location)!)?.status).to.equal('active');
    });

    it('refuses a non-JSON transaction that could hold a Subscription', async () => {
      const before = callerRequests();
      const xml =
        '<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/><entry><resource><Subscription/></resource><request><method value="POST"/><url value="&#83;ubscription"/></request></entry></Bundle>';
      const res = await fhir<OperationOutcome>('POST', base, xml, { ...as(USERS.clinician), 'content-type': 'application/fhir+xml' });
      expect(res.status).to.equal(415);
      expect(callerRequests()).to.equal(before);
    });
  });
}
