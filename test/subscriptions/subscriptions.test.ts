import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { ADMISSION, backportSubscription, fhir } from '../support/fhir.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPICS_DIR = 'test/fixtures/topics';

interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics?: string; expression?: string[] }>;
}
interface Parameter {
  name: string;
  valueReference?: { reference: string };
  valueCode?: string;
  valueString?: string;
  valueCanonical?: string;
}
interface Bundle {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  entry?: Array<{ fullUrl?: string; resource: { resourceType: string; id?: string; parameter?: Parameter[]; meta?: { profile?: string[] } } }>;
}

const param = (p: Parameter[] | undefined, name: string) => p?.find((x) => x.name === name);

for (const kind of ['memory', 'redis'] as const) {
  describe(`Subscriptions the gateway owns (${kind} engine)`, () => {
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      upstream = await startUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR, RESYNC_INTERVAL_MS: '1000' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'x'.repeat(32) });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await redis?.stop();
    });

    const countUpstream = async () => (await fhir<Bundle>('GET', `${upstream.url}/Subscription?_count=1000`)).body.entry?.length ?? 0;

    describe('create', () => {
      it('validates a backport websocket Subscription, stores it active, and returns what the server stored', async () => {
        const res = await fhir<{ id: string; status: string; criteria: string }>('POST', `${base}/Subscription`, backportSubscription({ filter: 'Encounter?patient=Patient/123' }));
        expect(res.status).to.equal(201);
        expect(res.body.status).to.equal('active');
        expect(res.body.criteria).to.equal(ADMISSION);
        expect(res.headers.location).to.match(new RegExp(`^${base}/Subscription/${res.body.id}/_history/1$`));
        const stored = await fhir<{ status: string }>('GET', `${upstream.url}/Subscription/${res.body.id}`);
        expect(stored.body.status).to.equal('active');
        const active = gateway.subscriptions.registry.get(res.body.id);
        expect(active?.topic).to.equal(ADMISSION);
        expect(active?.filters).to.deep.equal([{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' }]);
        expect(active?.content).to.equal('id-only');
      });

      it('accepts the classic criteria Subscription a Medplum client sends', async () => {
        const res = await fhir<{ id: string; status: string }>('POST', `${base}/Subscription`, {
          resourceType: 'Subscription',
          status: 'active',
          reason: 'WebSocket subscription for Practitioner/1',
          channel: { type: 'websocket' },
          criteria: 'Communication?recipient=Practitioner/1',
        });
        expect(res.status).to.equal(201);
        expect(res.body.status).to.equal('active');
        const active = gateway.subscriptions.registry.get(res.body.id);
        expect(active?.criteria).to.equal('Communication?recipient=Practitioner/1');
        expect(active?.content).to.equal('full-resource');
      });

      it('stores a Subscription created switched off, and does not serve it', async () => {
        const res = await fhir<{ id: string; status: string }>('POST', `${base}/Subscription`, backportSubscription({ status: 'off' }));
        expect(res.status).to.equal(201);
        expect(res.body.status).to.equal('off');
        expect(gateway.subscriptions.registry.get(res.body.id)).to.equal(undefined);
      });

      const rejections: Array<[string, unknown, number, RegExp]> = [
        ['an unknown topic', { ...backportSubscription(), criteria: 'http://example.org/fhir/SubscriptionTopic/nope' }, 422, /topic/i],
        ['a rest-hook channel', backportSubscription({ channelType: 'rest-hook' }), 422, /rest-hook/],
        ['an email channel', backportSubscription({ channelType: 'email' }), 422, /email/],
        ['a filter the topic does not allow', backportSubscription({ filter: 'Encounter?location=Location/1' }), 422, /location/],
        [
          'the cross-version filter extension',
          {
            ...backportSubscription(),
            _criteria: { extension: [{ url: 'http://hl7.org/fhir/5.0/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: 'Encounter.patient=Patient/123' }] },
          },
          422,
          /./,
        ],
        ['an XML payload', backportSubscription({ payload: 'application/fhir+xml' }), 422, /xml/i],
        ['an unknown content level', backportSubscription({ content: 'everything' }), 422, /everything/],
        ['an R5-shaped body on an R4 server', { resourceType: 'Subscription', status: 'requested', topic: ADMISSION, channelType: { code: 'websocket' } }, 400, /./],
        ['a resource that is not a Subscription', { resourceType: 'Patient' }, 400, /Subscription/],
        ['a status only the server sets', backportSubscription({ status: 'error' }), 422, /error/],
        ['broken JSON', '{"resourceType": "Subscription", ', 400, /JSON/i],
      ];
      for (const [what, body, status, message] of rejections) {
        it(`rejects ${what} with ${status} and an OperationOutcome, forwarding nothing`, async () => {
          const before = await countUpstream();
          const res = await fhir<OperationOutcome>('POST', `${base}/Subscription`, body);
          expect(res.status).to.equal(status);
          expect(res.body.resourceType).to.equal('OperationOutcome');
          expect(res.body.issue[0]!.severity).to.equal('error');
          expect(res.body.issue[0]!.diagnostics).to.match(message);
          expect(await countUpstream()).to.equal(before);
        });
      }
    });

    describe('update and delete', () => {
      let id: string;
      beforeEach(async () => {
        id = (await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription())).body.id;
      });

      it('turning a Subscription off deactivates it at once; turning it back on reactivates it', async () => {
        const off = await fhir<{ status: string }>('PUT', `${base}/Subscription/${id}`, { ...backportSubscription({ status: 'off' }), id });
        expect(off.status).to.equal(200);
        expect(off.body.status).to.equal('off');
        expect(gateway.subscriptions.registry.get(id)).to.equal(undefined);
        const on = await fhir<{ status: string }>('PUT', `${base}/Subscription/${id}`, { ...backportSubscription({ status: 'requested' }), id });
        expect(on.body.status).to.equal('active');
        expect(gateway.subscriptions.registry.get(id)).not.to.equal(undefined);
      });

      it('validates an update like a create', async () => {
        const res = await fhir<OperationOutcome>('PUT', `${base}/Subscription/${id}`, { ...backportSubscription({ channelType: 'rest-hook' }), id });
        expect(res.status).to.equal(422);
        expect(gateway.subscriptions.registry.get(id)).not.to.equal(undefined);
      });

      it('rejects an update whose body names another id', async () => {
        const res = await fhir<OperationOutcome>('PUT', `${base}/Subscription/${id}`, { ...backportSubscription(), id: 'other' });
        expect(res.status).to.equal(400);
        expect(res.body.issue[0]!.expression).to.deep.equal(['Subscription.id']);
      });

      it('answers PATCH and conditional writes with an OperationOutcome saying what to do instead', async () => {
        const patch = await fhir<OperationOutcome>('PATCH', `${base}/Subscription/${id}`, [{ op: 'replace', path: '/status', value: 'off' }], { 'content-type': 'application/json-patch+json' });
        expect(patch.status).to.equal(405);
        expect(patch.body.issue[0]!.diagnostics).to.match(/PUT/);
        const conditional = await fhir<OperationOutcome>('DELETE', `${base}/Subscription?status=active`);
        expect(conditional.status).to.equal(405);
        // A conditional create answered 200 would have stored nothing, yet looked like a write of this body.
        const before = await countUpstream();
        const create = await fhir<OperationOutcome>('POST', `${base}/Subscription`, backportSubscription(), { 'if-none-exist': 'status=active' });
        expect(create.status).to.equal(405);
        expect(create.body.issue[0]!.diagnostics).to.match(/Conditional/);
        expect(await countUpstream()).to.equal(before);
      });

      it('delete deactivates it at once', async () => {
        const res = await fhir('DELETE', `${base}/Subscription/${id}`);
        expect(res.status).to.be.oneOf([200, 204]);
        expect(gateway.subscriptions.registry.get(id)).to.equal(undefined);
      });
    });

    describe('$status', () => {
      let id: string;
      before(async () => {
        id = (await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription())).body.id;
      });

      it('answers at instance level with a searchset of one R4 status Parameters (Inferno check 13)', async () => {
        const res = await fhir<Bundle>('GET', `${base}/Subscription/${id}/$status`);
        expect(res.status).to.equal(200);
        expect(res.body.type).to.equal('searchset');
        const status = res.body.entry!.map((e) => e.resource).find((r) => r.resourceType === 'Parameters')!;
        expect(status.meta?.profile).to.include('http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4');
        expect(param(status.parameter, 'subscription')!.valueReference!.reference).to.equal(`${base}/Subscription/${id}`);
        expect(param(status.parameter, 'type')!.valueCode).to.equal('query-status');
        expect(param(status.parameter, 'status')!.valueCode).to.equal('active');
        expect(param(status.parameter, 'topic')!.valueCanonical).to.equal(ADMISSION);
        expect(param(status.parameter, 'events-since-subscription-start')!.valueString).to.equal('0');
      });

      it('counts the events numbered for the subscription', async () => {
        const sub = gateway.subscriptions.registry.get(id)!;
        for (const n of [1, 2, 3]) {
          await gateway.eventLog.number({ eventId: `Encounter/e/_history/${n}:update`, reference: 'Encounter/e', interaction: 'update', versionId: String(n), timestamp: new Date().toISOString() }, [
            sub,
          ]);
        }
        const res = await fhir<Bundle>('GET', `${base}/Subscription/${id}/$status`);
        expect(param(res.body.entry![0]!.resource.parameter, 'events-since-subscription-start')!.valueString).to.equal('3');
      });

      it('answers at type level for the ids asked for, filtered by status (OR within each)', async () => {
        const off = (await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ status: 'off' }))).body.id;
        const both = await fhir<Bundle>('GET', `${base}/Subscription/$status?id=${id}&id=${off}`);
        expect(both.status).to.equal(200);
        expect(both.body.entry!.map((e) => param(e.resource.parameter, 'status')!.valueCode).sort()).to.deep.equal(['active', 'off']);
        const onlyOff = await fhir<Bundle>('GET', `${base}/Subscription/$status?id=${id},${off}&status=off,error`);
        expect(onlyOff.body.entry!.map((e) => param(e.resource.parameter, 'subscription')!.valueReference!.reference)).to.deep.equal([`${base}/Subscription/${off}`]);
      });

      it('takes its parameters from a POSTed Parameters resource too', async () => {
        const res = await fhir<Bundle>('POST', `${base}/Subscription/$status`, { resourceType: 'Parameters', parameter: [{ name: 'id', valueId: id }] });
        expect(res.status).to.equal(200);
        expect(res.body.entry).to.have.length(1);
      });

      it('passes on the server’s 404 for an unknown subscription', async () => {
        const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/does-not-exist/$status`);
        expect(res.status).to.equal(404);
        expect(res.body.resourceType).to.equal('OperationOutcome');
      });

      it('rejects a status parameter that is not a status code', async () => {
        const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/$status?status=happy`);
        expect(res.status).to.equal(400);
        expect(res.body.issue[0]!.diagnostics).to.match(/happy/);
      });
    });

    describe('CapabilityStatement', () => {
      it('passes the conformance checks for the CapabilityStatement and topic discovery (Inferno checks 6, 7)', async () => {
        interface Cs {
          resourceType: string;
          fhirVersion: string;
          instantiates?: string[];
          rest: Array<{
            mode: string;
            extension?: Array<{ url: string; valueUri?: string }>;
            resource: Array<{ type: string; supportedProfile?: string[]; extension?: Array<{ url: string; valueCanonical?: string }>; operation?: Array<{ name: string; definition: string }> }>;
          }>;
        }
        const res = await fhir<Cs>('GET', `${base}/metadata`);
        expect(res.status).to.equal(200);
        expect(res.body.resourceType).to.equal('CapabilityStatement');
        const rest = res.body.rest.find((r) => r.mode === 'server')!;
        const sub = rest.resource.find((r) => r.type === 'Subscription')!;
        expect(sub.supportedProfile).to.include(`${BACKPORT}/backport-subscription`);
        const canonicals = sub.extension!.filter((e) => e.url === `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`).map((e) => e.valueCanonical);
        expect(canonicals).to.include(ADMISSION);
        expect(sub.operation!.map((o) => o.name)).to.include.members(['status', 'get-ws-binding-token', 'events']);
        expect(rest.extension!.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket')!.valueUri).to.equal(`ws://localhost:${gateway.port}/ws`);
        expect(res.body.instantiates).to.include('http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4');
        expect(JSON.stringify(res.body)).not.to.include(upstream.url);
      });
    });

    describe('resync with the upstream', () => {
      it('picks up a Subscription created directly at the upstream, and drops one deleted there', async () => {
        const direct = await fhir<{ id: string }>('POST', `${upstream.url}/Subscription`, { ...backportSubscription(), status: 'active' });
        expect(direct.status).to.equal(201);
        await until(() => gateway.subscriptions.registry.get(direct.body.id) !== undefined, 'the resync to find it');
        await fhir('DELETE', `${upstream.url}/Subscription/${direct.body.id}`);
        await until(() => gateway.subscriptions.registry.get(direct.body.id) === undefined, 'the resync to drop it');
      });

      it('honours Subscription.end: the subscription leaves the registry when it passes', async () => {
        const end = new Date(Date.now() + 1500).toISOString();
        const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, { ...backportSubscription(), end });
        expect(res.status).to.equal(201);
        expect(gateway.subscriptions.registry.get(res.body.id)).not.to.equal(undefined);
        await until(() => gateway.subscriptions.registry.get(res.body.id) === undefined, 'the end to pass', 8000);
      });

      it('rejects a Subscription whose end has already passed', async () => {
        const res = await fhir<OperationOutcome>('POST', `${base}/Subscription`, { ...backportSubscription(), end: '2001-01-01T00:00:00Z' });
        expect(res.status).to.equal(422);
      });
    });
  });
}
