// DELIVERY_AUTHORIZATION=upstream against an upstream that really enforces access: what a binding,
// a replay and $events carry is what the caller's own credential may read there, and nothing more.
import { expect } from 'chai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { startAccessUpstream, USERS, type AccessUpstream } from '../support/access-upstream.js';
import { as } from '../support/access-gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { WsClient, notificationType, r4Param } from '../support/ws-client.js';

const PATIENT_TOPIC = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/patient-record-change';

interface Entry {
  fullUrl?: string;
  resource?: { resourceType: string; id?: string; name?: Array<{ family?: string }> };
}
interface Part {
  name: string;
  valueString?: string;
  valueReference?: { reference: string };
}

const entries = (f: Record<string, unknown>) => (f.entry as Entry[] | undefined) ?? [];
const events = (f: Record<string, unknown>) => {
  const status = (f.entry as Array<{ resource: { parameter: Array<{ name: string; part?: Part[] }> } }>)[0]!.resource;
  return status.parameter
    .filter((p) => p.name === 'notification-event')
    .map((p) => ({
      number: Number(p.part!.find((x) => x.name === 'event-number')!.valueString),
      focus: p.part!.find((x) => x.name === 'focus')?.valueReference?.reference,
    }));
};
const isEvent = (f: Record<string, unknown>) => notificationType(f) === 'event-notification';

for (const kind of ['memory', 'redis'] as const) {
  describe(`delivery authorization against an access-checking upstream (${kind} engine)`, function () {
    this.timeout(60_000);
    let redis: TestRedis | undefined;
    let up: AccessUpstream;
    let gateway: Gateway;
    let base: string;
    let env: Record<string, string>;
    const clients: WsClient[] = [];

    before(async () => {
      up = await startAccessUpstream();
      env = { FHIR_UPSTREAM_URL: up.url, FHIR_UPSTREAM_AUTHORIZATION: USERS.service };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'd'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    after(async () => {
      await gateway.close();
      await up.close();
      await redis?.stop();
    });

    async function subscribe(user: string, content: string, topic = PATIENT_TOPIC): Promise<string> {
      const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic, content }), as(user));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    }
    async function token(user: string, id: string): Promise<string> {
      const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`, undefined, as(user));
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return res.body.parameter.find((p) => p.name === 'token')!.valueString!;
    }
    async function bind(user: string, id: string, since?: number): Promise<WsClient> {
      const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      clients.push(c);
      c.send(`bind-with-token ${await token(user, id)}${since === undefined ? '' : ` events-since=${since}`}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      return c;
    }
    async function patient(family: string): Promise<string> {
      const res = await fhir<{ id: string }>('POST', `${base}/Patient`, { resourceType: 'Patient', name: [{ family }] }, as(USERS.clinician));
      expect(res.status).to.equal(201);
      return res.body.id;
    }
    async function encounter(): Promise<string> {
      const res = await fhir<{ id: string }>('POST', `${base}/Encounter`, { resourceType: 'Encounter', status: 'planned', class: { code: 'AMB' } }, as(USERS.scheduler));
      expect(res.status).to.equal(201);
      return res.body.id;
    }
    async function notifications(c: WsClient, n: number): Promise<Array<Record<string, unknown>>> {
      await c.next(() => c.frames.filter(isEvent).length >= n, `${n} notifications`, 15_000);
      return c.frames.filter(isEvent);
    }

    it('a user who may not read Patients gets only empty notifications, numbered without a gap; a user who may gets the resources', async () => {
      const denied = await subscribe(USERS.scheduler, 'full-resource');
      const hidden = await subscribe(USERS.outsider, 'full-resource');
      const allowed = await subscribe(USERS.clinician, 'full-resource');
      const [d, h, a] = await Promise.all([bind(USERS.scheduler, denied), bind(USERS.outsider, hidden), bind(USERS.clinician, allowed)]);

      const patients = [await patient('Secret-1'), await patient('Secret-2'), await patient('Secret-3')];
      const enc = await encounter();

      for (const c of [d, h]) {
        const got = await notifications(c, 4);
        expect(
          got.map((f) => events(f)[0]!.number),
          'true event numbers, no gap',
        ).to.deep.equal([1, 2, 3, 4]);
        // The patients: exactly what an `empty` subscription gets (status only, no focus, no topic).
        for (const f of got.slice(0, 3)) {
          expect(entries(f), 'no entry besides the status').to.have.length(1);
          expect(events(f)[0]!.focus).to.equal(undefined);
          expect(r4Param(f, 'topic')).to.equal(undefined);
        }
        expect(JSON.stringify(got)).to.not.match(/Secret-/);
        // The Encounter they may read comes in full.
        expect(entries(got[3]!)[1]!.resource).to.include({ resourceType: 'Encounter', id: enc });
      }
      const full = await notifications(a, 4);
      expect(full.map((f) => events(f)[0]!.number)).to.deep.equal([1, 2, 3, 4]);
      expect(full.slice(0, 3).map((f) => entries(f)[1]!.resource!.id)).to.deep.equal(patients);
      expect(entries(full[0]!)[1]!.resource!.name![0]!.family).to.equal('Secret-1');
      expect(events(full[0]!)[0]!.focus).to.equal(`${base}/Patient/${patients[0]}`);
    });

    it("replay on bind (events-since) follows the same rule with the binding's credential", async () => {
      const denied = await subscribe(USERS.scheduler, 'full-resource');
      const allowed = await subscribe(USERS.clinician, 'full-resource');
      // Bound first so that the events are logged for both (a subscription logs from its start).
      const [d0, a0] = await Promise.all([bind(USERS.scheduler, denied), bind(USERS.clinician, allowed)]);
      const p1 = await patient('Replay-1');
      const p2 = await patient('Replay-2');
      await notifications(d0, 2);
      await notifications(a0, 2);
      d0.close();
      a0.close();

      const d = await bind(USERS.scheduler, denied, 1);
      const a = await bind(USERS.clinician, allowed, 1);
      const replayed = await notifications(d, 2);
      expect(replayed.map((f) => events(f)[0]!.number)).to.deep.equal([1, 2]);
      for (const f of replayed) {
        expect(entries(f)).to.have.length(1);
        expect(events(f)[0]!.focus).to.equal(undefined);
      }
      expect(JSON.stringify(replayed)).to.not.match(/Replay-/);
      const shown = await notifications(a, 2);
      expect(shown.map((f) => entries(f)[1]!.resource!.id)).to.deep.equal([p1, p2]);
    });

    it('$events shows the caller only what it may read, and content may lower the level but never raise it', async () => {
      const denied = await subscribe(USERS.scheduler, 'full-resource');
      const idOnly = await subscribe(USERS.clinician, 'id-only');
      const full = await subscribe(USERS.clinician, 'full-resource');
      await Promise.all([bind(USERS.scheduler, denied), bind(USERS.clinician, idOnly), bind(USERS.clinician, full)]);
      const p = await patient('Events-1');
      const enc = await encounter();
      const $events = async (user: string, id: string, content: string) => {
        for (let i = 0; i < 100; i++) {
          const res = await fhir<Record<string, unknown>>('GET', `${base}/Subscription/${id}/$events?content=${content}`, undefined, as(user));
          expect(res.status, JSON.stringify(res.body)).to.equal(200);
          if (events(res.body).length >= (id === denied ? 2 : 1)) return res.body;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('events were not logged');
      };

      const d = await $events(USERS.scheduler, denied, 'full-resource');
      const numbered = events(d);
      expect(numbered.map((e) => e.number)).to.deep.equal([1, 2]);
      expect(numbered[0]!.focus, 'the Patient is withheld').to.equal(undefined);
      expect(numbered[1]!.focus).to.equal(`${base}/Encounter/${enc}`);
      expect(JSON.stringify(d)).to.not.match(/Events-1/);
      expect(entries(d).map((e) => e.resource?.resourceType)).to.deep.equal(['Parameters', 'Encounter']);

      const raised = await $events(USERS.clinician, idOnly, 'full-resource');
      expect(events(raised)[0]!.focus).to.equal(`${base}/Patient/${p}`);
      expect(
        entries(raised)
          .slice(1)
          .every((e) => e.resource === undefined),
        'id-only stays id-only',
      ).to.equal(true);
      expect(JSON.stringify(raised)).to.not.match(/Events-1/);

      const shown = await $events(USERS.clinician, full, 'full-resource');
      expect(entries(shown)[1]!.resource!.name![0]!.family).to.equal('Events-1');
      const lowered = await $events(USERS.clinician, full, 'empty');
      expect(entries(lowered)).to.have.length(1);
      expect(events(lowered)[0]!.focus).to.equal(undefined);
    });

    it('$events on a subscription that is off caps content at the level it was stored with', async () => {
      const id = await subscribe(USERS.clinician, 'id-only');
      await bind(USERS.clinician, id);
      const p = await patient('Off-1');
      for (let i = 0; i < 100; i++) {
        const logged = await fhir<Record<string, unknown>>('GET', `${base}/Subscription/${id}/$events`, undefined, as(USERS.clinician));
        if (events(logged.body).length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const stored = await fhir<Record<string, unknown>>('GET', `${base}/Subscription/${id}`, undefined, as(USERS.clinician));
      const off = await fhir('PUT', `${base}/Subscription/${id}`, { ...stored.body, status: 'off' }, as(USERS.clinician));
      expect(off.status, JSON.stringify(off.body)).to.equal(200);
      const res = await fhir<Record<string, unknown>>('GET', `${base}/Subscription/${id}/$events?content=full-resource`, undefined, as(USERS.clinician));
      expect(res.status).to.equal(200);
      expect(events(res.body)[0]!.focus).to.equal(`${base}/Patient/${p}`);
      expect(
        entries(res.body)
          .slice(1)
          .every((e) => e.resource === undefined),
        'still id-only',
      ).to.equal(true);
      expect(JSON.stringify(res.body)).to.not.match(/Off-1/);
    });

    it('a credential the upstream revokes ends its binding with an OperationOutcome that asks for a new token', async () => {
      const user = `Bearer revoked-${kind}`;
      up.setUser(user, { rights: { '*': ['read', 'write'] } });
      const id = await subscribe(user, 'id-only');
      const tok = await token(user, id);
      const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      clients.push(c);
      c.send(`bind-with-token ${tok}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      await patient('Before');
      await notifications(c, 1);

      up.revoke(user);
      await patient('After');
      const ended = await c.next((f) => f.resourceType === 'OperationOutcome', 'the OperationOutcome', 10_000);
      const issue = (ended.issue as Array<{ code: string; diagnostics: string; expression?: string[] }>)[0]!;
      expect(issue.code).to.equal('login');
      expect(issue.diagnostics).to.match(/new token/);
      expect(issue.expression).to.deep.equal([`Subscription/${id}`]);
      await new Promise((r) => setTimeout(r, 300));
      expect(c.frames.filter(isEvent), 'the event after revocation is not sent').to.have.length(1);

      // The credential is forgotten: the same token no longer binds.
      const before = c.frames.length;
      c.send(`bind-with-token ${tok}`);
      const refused = await c.next((f) => f.resourceType === 'OperationOutcome', 'the refusal', 5000, before);
      expect(JSON.stringify(refused)).to.match(/new one with \$get-ws-binding-token/);
      expect(c.frames.slice(before).some((f) => notificationType(f) === 'handshake')).to.equal(false);
    });

    if (kind === 'redis') {
      it('a token obtained on one replica binds on another with the same authority (the sealed credential is shared)', async () => {
        const other = await startTestGateway(env);
        try {
          const id = await subscribe(USERS.scheduler, 'full-resource');
          const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${other.baseUrl}/Subscription/${id}/$get-ws-binding-token`, undefined, as(USERS.scheduler));
          expect(res.status).to.equal(200);
          const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
          clients.push(c);
          c.send(`bind-with-token ${res.body.parameter.find((p) => p.name === 'token')!.valueString}`);
          await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
          await patient('Replica-1');
          const [note] = await notifications(c, 1);
          expect(entries(note!)).to.have.length(1);
          expect(JSON.stringify(note)).to.not.match(/Replica-1/);
        } finally {
          await other.close();
        }
      });
    }

    it('N bindings sharing one credential cost one upstream check per resource version', async () => {
      const id = await subscribe(USERS.colleague, 'full-resource');
      const sockets = await Promise.all(Array.from({ length: 8 }, () => bind(USERS.colleague, id)));
      // A read (Patient/<id>) for one resource, a search (Patient?_id=a,b) for several.
      const checks = () => up.requests.filter((r) => r.user === USERS.colleague && r.method === 'GET' && r.path.startsWith('Patient')).length;
      const before = checks();
      const p = await patient('Shared');
      for (const s of sockets) expect(entries((await notifications(s, 1))[0]!)[1]!.resource!.id).to.equal(p);
      expect(checks() - before, 'one check for eight bindings').to.equal(1);

      // The same resource version again (a replay on one more socket): answered from the cache.
      const late = await bind(USERS.colleague, id, 1);
      await notifications(late, 1);
      expect(checks() - before).to.equal(1);
    });
  });

  describe(`DELIVERY_AUTHORIZATION=none (${kind} engine)`, function () {
    this.timeout(60_000);
    let redis: TestRedis | undefined;
    let up: AccessUpstream;
    let gateway: Gateway;
    const logs: string[] = [];

    before(async () => {
      up = await startAccessUpstream();
      const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', FHIR_UPSTREAM_URL: up.url, FHIR_UPSTREAM_AUTHORIZATION: USERS.service, DELIVERY_AUTHORIZATION: 'none' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'n'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` });
      }
      const config = loadConfig(env);
      const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void (logs.push(chunk.toString()), done()) });
      gateway = await startGateway({ ...config, fhirUpstreamUrl: up.url }, pino({ level: 'warn' }, sink));
    });
    after(async () => {
      await gateway.close();
      await up.close();
      await redis?.stop();
    });

    it('warns at start, and delivers what the subscription asks for without asking the upstream', async () => {
      expect(logs.some((l) => l.includes('"level":40') && l.includes('DELIVERY_AUTHORIZATION=none'))).to.equal(true);
      const base = gateway.baseUrl;
      const sub = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: PATIENT_TOPIC, content: 'full-resource' }), { authorization: USERS.scheduler });
      expect(sub.status).to.equal(201);
      const tok = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${sub.body.id}/$get-ws-binding-token`, undefined, {
        authorization: USERS.scheduler,
      });
      const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      try {
        c.send(`bind-with-token ${tok.body.parameter.find((p) => p.name === 'token')!.valueString}`);
        await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
        const created = await fhir<{ id: string }>('POST', `${base}/Patient`, { resourceType: 'Patient' }, { authorization: USERS.clinician });
        const note = await c.next(isEvent, 'the notification', 10_000);
        expect(entries(note)[1]!.resource!.id).to.equal(created.body.id);
        expect(up.requests.some((r) => r.user === USERS.scheduler && r.path === 'Patient')).to.equal(false);
      } finally {
        c.close();
      }
    });
  });
}
