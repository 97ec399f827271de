import { expect } from 'chai';
import { request } from 'undici';
import { DELIVERY_CHANNEL, type DeliveryMessage } from '../../src/events/delivery.js';
import type { Gateway } from '../../src/gateway.js';
import { HIGH_VALUE, RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

interface Parameter {
  name: string;
  valueString?: string;
  valueCode?: string;
  valueReference?: { reference: string };
  part?: Parameter[];
}
interface Bundle {
  resourceType: string;
  type: string;
  entry?: Array<{ fullUrl?: string; resource?: { resourceType: string; id?: string; parameter?: Parameter[] }; request?: { method: string; url: string } }>;
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`event pipeline (${kind} engine)`, () => {
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let base: string;
    const deliveries: DeliveryMessage[] = [];
    let eventsChannel = 'fhir:resource-changes';

    before(async () => {
      upstream = await startUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', EVENT_LOG_MAX: '3' };
      if (kind === 'redis') {
        redis = await startRedis();
        // On a shared Redis the raw events channel must be ours alone.
        eventsChannel = `${redis.newPrefix()}events`;
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'x'.repeat(32), EVENTS_CHANNEL: eventsChannel });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
      await gateway.engine.subscribe(DELIVERY_CHANNEL, (m) => void deliveries.push(JSON.parse(m) as DeliveryMessage));
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await redis?.stop();
    });
    beforeEach(() => (deliveries.length = 0));

    // Memory: the default channel, fhir:resource-changes as design.md names it; Redis: the exact EVENTS_CHANNEL set above.
    const publishRaw = (message: string) => gateway.engine.publish(eventsChannel, message, { raw: true });
    const subscribe = async (body: Record<string, unknown>) => {
      const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, body);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    };
    const numbersFor = (id: string) => deliveries.flatMap((d) => d.matches.filter(([s]) => s === id).map(([, n]) => n));
    const settle = async () => {
      await new Promise((r) => setTimeout(r, 50));
      await gateway.pipeline.idle();
    };

    it('numbers a write through the gateway for the matching subscription only, once', async () => {
      const mine = await subscribe(backportSubscription({ filter: 'Encounter?patient=Patient/p1' }));
      const other = await subscribe(backportSubscription({ filter: 'Encounter?patient=Patient/p2' }));
      const created = await fhir<{ id: string }>('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' }, subject: { reference: 'Patient/p1' } });
      expect(created.status).to.equal(201);
      await until(() => numbersFor(mine).length === 1, 'the delivery');
      await settle();
      expect(numbersFor(mine)).to.deep.equal([1]);
      expect(numbersFor(other)).to.deep.equal([]);
      const message = deliveries.find((d) => d.matches.some(([s]) => s === mine))!;
      expect(message.event.reference).to.equal(`Encounter/${created.body.id}`);
      expect(message.event.interaction).to.equal('create');
      expect(message.event.resource?.status).to.equal('in-progress');
    });

    it('a write through the gateway and a PUBLISH of the same resource version yield one event', async () => {
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/dup' }));
      const created = await fhir<{ id: string; meta: { versionId: string; lastUpdated: string } }>('POST', `${base}/Observation`, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/dup' },
      });
      await publishRaw(JSON.stringify({ interaction: 'create', reference: `Observation/${created.body.id}`, versionId: created.body.meta.versionId, timestamp: created.body.meta.lastUpdated }));
      await until(() => numbersFor(sub).length >= 1, 'the delivery');
      await settle();
      expect(numbersFor(sub)).to.deep.equal([1]);
      const metrics = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      expect(metrics).to.match(/fsg_events_duplicate_total [1-9]/);
    });

    it('reads the resource from the upstream when a published event does not carry it', async () => {
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/fetch' }));
      const direct = await fhir<{ id: string; meta: { versionId: string } }>('POST', `${upstream.url}/Observation`, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'y' },
        subject: { reference: 'Patient/fetch' },
      });
      await publishRaw(JSON.stringify({ interaction: 'create', reference: `Observation/${direct.body.id}`, versionId: direct.body.meta.versionId, timestamp: new Date().toISOString() }));
      await until(() => numbersFor(sub).length === 1, 'the delivery');
      const message = deliveries.find((d) => d.matches.some(([s]) => s === sub))!;
      expect(message.event.resource?.id).to.equal(direct.body.id);
    });

    it('fires a topic’s query criteria only on the transition (admission: status becomes in-progress)', async () => {
      const sub = await subscribe(backportSubscription({ filter: 'Encounter?patient=Patient/adm' }));
      const planned = await fhir<{ id: string }>('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'planned', class: { code: 'IMP' }, subject: { reference: 'Patient/adm' } });
      const id = planned.body.id;
      const put = (status: string) => fhir('PUT', `${base}/Encounter/${id}`, { resourceType: 'Encounter', id, status, class: { code: 'IMP' }, subject: { reference: 'Patient/adm' } });
      await put('in-progress');
      await put('in-progress');
      await put('finished');
      await settle();
      await until(() => numbersFor(sub).length >= 1, 'the delivery');
      await settle();
      expect(numbersFor(sub)).to.deep.equal([1]);
    });

    it('evaluates FHIRPath criteria with %previous and %current', async () => {
      const sub = await subscribe(backportSubscription({ topic: HIGH_VALUE, filter: 'Observation?patient=Patient/hv' }));
      const obs = (value: number, id?: string) => ({
        resourceType: 'Observation',
        ...(id ? { id } : {}),
        status: 'final',
        code: { text: 'glucose' },
        subject: { reference: 'Patient/hv' },
        valueQuantity: { value, unit: 'mg/dL' },
      });
      const created = await fhir<{ id: string }>('POST', `${base}/Observation`, obs(90));
      const id = created.body.id;
      await fhir('PUT', `${base}/Observation/${id}`, obs(120, id));
      await fhir('PUT', `${base}/Observation/${id}`, obs(130, id));
      await until(() => numbersFor(sub).length >= 1, 'the delivery');
      await settle();
      expect(numbersFor(sub)).to.deep.equal([1]);
      expect((deliveries.find((d) => d.matches.some(([s]) => s === sub))!.event.resource?.valueQuantity as { value: number }).value).to.equal(120);
    });

    it('notifies a delete, checking filters against the last version', async () => {
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Encounter?patient=Patient/del' }));
      const created = await fhir<{ id: string }>('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/del' } });
      await fhir('DELETE', `${base}/Encounter/${created.body.id}`);
      await until(() => numbersFor(sub).length === 2, 'both deliveries');
      const interactions = deliveries.filter((d) => d.matches.some(([s]) => s === sub)).map((d) => d.event.interaction);
      expect(interactions).to.deep.equal(['create', 'delete']);
    });

    it('matches every entry of a transaction', async () => {
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/tx' }));
      const entry = (n: number) => ({
        resource: { resourceType: 'Observation', status: 'final', code: { text: `t${n}` }, subject: { reference: 'Patient/tx' } },
        request: { method: 'POST', url: 'Observation' },
      });
      const res = await fhir('POST', base, { resourceType: 'Bundle', type: 'transaction', entry: [entry(1), entry(2)] });
      expect(res.status).to.equal(200);
      await until(() => numbersFor(sub).length === 2, 'two deliveries');
      expect(numbersFor(sub).sort()).to.deep.equal([1, 2]);
    });

    it('matches a classic criteria subscription (Medplum’s client)', async () => {
      const sub = await subscribe({ resourceType: 'Subscription', status: 'active', reason: 'ws', channel: { type: 'websocket' }, criteria: 'Communication?recipient=Practitioner/doc' });
      await fhir('POST', `${base}/Communication`, { resourceType: 'Communication', status: 'completed', recipient: [{ reference: 'Practitioner/other' }] });
      await fhir('POST', `${base}/Communication`, { resourceType: 'Communication', status: 'completed', recipient: [{ reference: 'Practitioner/doc' }] });
      await until(() => numbersFor(sub).length === 1, 'the delivery');
      await settle();
      expect(numbersFor(sub)).to.deep.equal([1]);
    });

    it('asks the upstream to decide a filter memory cannot (a chained parameter)', async () => {
      const patient = await fhir<{ id: string }>('POST', `${base}/Patient`, { resourceType: 'Patient', name: [{ family: 'Chainley' }] });
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Encounter?patient.name=Chainley' }));
      await fhir('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'planned', class: { code: 'IMP' }, subject: { reference: 'Patient/nobody' } });
      await fhir('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'planned', class: { code: 'IMP' }, subject: { reference: `Patient/${patient.body.id}` } });
      await until(() => numbersFor(sub).length === 1, 'the delivery');
      await settle();
      expect(numbersFor(sub)).to.deep.equal([1]);
      const metrics = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      expect(metrics).to.match(/fsg_match_undecidable_total\{what="filter"\} [1-9]/);
    });

    it('drops bad events with a reason, counts them, and keeps going', async () => {
      const sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/bad' }));
      await publishRaw('this is not json');
      await publishRaw(JSON.stringify({ interaction: 'create' }));
      await publishRaw(JSON.stringify({ interaction: 'explode', reference: 'Observation/1', versionId: '1' }));
      await publishRaw(JSON.stringify({ interaction: 'create', reference: 'NotAType/1', versionId: '1' }));
      await fhir('POST', `${base}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'z' }, subject: { reference: 'Patient/bad' } });
      await until(() => numbersFor(sub).length === 1, 'the good event after the bad ones');
      const metrics = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      const rejected = [...metrics.matchAll(/^fsg_events_rejected_total\{reason="([^"]+)"\} (\d+)/gm)].map((m) => m[1]);
      expect(rejected.length).to.be.at.least(3);
      expect(rejected).to.include('not-json');
    });

    describe('$events', () => {
      let sub: string;
      let ids: string[];
      before(async () => {
        sub = await subscribe(backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/ev', content: 'full-resource' }));
        ids = [];
        for (let i = 0; i < 4; i++) {
          ids.push(
            (await fhir<{ id: string }>('POST', `${base}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: `e${i}` }, subject: { reference: 'Patient/ev' } })).body.id,
          );
          await until(() => numbersFor(sub).length === i + 1, `event ${i + 1}`);
        }
      });

      it('answers from the event log in the R4 shape: history Bundle, query-event status first, with resources', async () => {
        const res = await fhir<Bundle>('GET', `${base}/Subscription/${sub}/$events?eventsSinceNumber=3`);
        expect(res.status).to.equal(200);
        expect(res.body.type).to.equal('history');
        const status = res.body.entry![0]!.resource!;
        expect(status.resourceType).to.equal('Parameters');
        const p = (name: string) => status.parameter!.filter((x) => x.name === name);
        expect(p('type')[0]!.valueCode).to.equal('query-event');
        expect(p('events-since-subscription-start')[0]!.valueString).to.equal('4');
        expect(p('notification-event').map((e) => e.part!.find((x) => x.name === 'event-number')!.valueString)).to.deep.equal(['3', '4']);
        const focus = res.body.entry!.slice(1).map((e) => e.resource?.id);
        expect(focus).to.deep.equal([ids[2], ids[3]]);
      });

      it('takes eventsUntilNumber and a content hint', async () => {
        const res = await fhir<Bundle>('GET', `${base}/Subscription/${sub}/$events?eventsSinceNumber=2&eventsUntilNumber=3&content=id-only`);
        const events = res.body.entry![0]!.resource!.parameter!.filter((x) => x.name === 'notification-event');
        expect(events.map((e) => e.part!.find((x) => x.name === 'event-number')!.valueString)).to.deep.equal(['2', '3']);
        for (const e of res.body.entry!.slice(1)) expect(e.resource).to.equal(undefined);
      });

      it('says so with an OperationOutcome when the range has left the log', async () => {
        const res = await fhir<{ resourceType: string; issue: Array<{ diagnostics: string }> }>('GET', `${base}/Subscription/${sub}/$events?eventsSinceNumber=1`);
        expect(res.status).to.equal(410);
        expect(res.body.resourceType).to.equal('OperationOutcome');
        expect(res.body.issue[0]!.diagnostics).to.match(/events 2 to 4 are kept/);
      });

      it('rejects a malformed number', async () => {
        const res = await fhir('GET', `${base}/Subscription/${sub}/$events?eventsSinceNumber=two`);
        expect(res.status).to.equal(400);
      });
    });
  });
}
