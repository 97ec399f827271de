import { expect } from 'chai';
import { Pool } from 'undici';
import { CredentialStore } from '../../src/access/credentials.js';
import { Visibility } from '../../src/access/visibility.js';
import { MemoryEngine } from '../../src/engine/memory.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { UpstreamClient } from '../../src/upstream/fhir-client.js';
import { startAccessUpstream, USERS, type AccessUpstream } from '../support/access-upstream.js';
import { fhir } from '../support/fhir.js';
import { startHttpServer } from '../support/http-server.js';

describe('visibility checks against the upstream', function () {
  this.timeout(20_000);
  let up: AccessUpstream;
  let engine: MemoryEngine;
  let store: CredentialStore;
  const pools: Pool[] = [];
  let patients: string[];

  before(async () => {
    up = await startAccessUpstream();
    engine = new MemoryEngine(createLogger('silent'));
    await engine.start();
    store = new CredentialStore(engine, 'v'.repeat(32));
    patients = [];
    for (let i = 0; i < 3; i++) patients.push((await fhir<{ id: string }>('POST', `${up.demo.url}/Patient`, { resourceType: 'Patient' })).body.id);
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await engine.close();
    await up.close();
  });

  function visibility(url = up.url, timeoutMs?: number) {
    const pool = new Pool(new URL(url).origin);
    pools.push(pool);
    const metrics = new Metrics();
    const v = new Visibility({ client: new UpstreamClient(pool, url), metrics, logger: createLogger('silent'), ...(timeoutMs ? { timeoutMs } : {}) });
    return { v, metrics };
  }
  const asks = (user: string) => up.requests.filter((r) => r.user === user && r.method === 'GET' && r.path.startsWith('Patient')).length;
  const refs = () => patients.map((id) => ({ reference: `Patient/${id}`, versionId: '1' }));
  const results = async (metrics: Metrics) => Object.fromEntries((await metrics.deliveryAuthChecks.get()).values.map((v) => [String(v.labels.result), v.value]));

  it('asks once per credential and type for everything waiting (one search with _id=a,b,c, a read for one), and caches the answer', async () => {
    const { v } = visibility();
    const clinician = store.credential(USERS.clinician);
    const before = asks(USERS.clinician);
    const verdict = await v.check(clinician, refs());
    expect([...verdict.visible].sort()).to.deep.equal(
      refs()
        .map((r) => r.reference)
        .sort(),
    );
    expect(asks(USERS.clinician) - before).to.equal(1);
    const last = up.requests.filter((r) => r.user === USERS.clinician).pop()!;
    expect(last.query)
      .to.include(`_id=${patients.join(',')}`)
      .and.include('_elements=id');
    await v.check(clinician, refs());
    expect(asks(USERS.clinician) - before, 'answered from the cache').to.equal(1);
    await v.check(clinician, [{ reference: `Patient/${patients[0]}`, versionId: '2' }]);
    expect(asks(USERS.clinician) - before, 'a new version is a new question').to.equal(2);
    expect(up.requests.filter((r) => r.user === USERS.clinician).pop()!.path, 'a lone question is a read').to.equal(`Patient/${patients[0]}`);
  });

  it('shares one request between identical questions in flight, even from separate calls', async () => {
    const { v } = visibility();
    const colleague = store.credential(USERS.colleague);
    const before = asks(USERS.colleague);
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => v.check(colleague, refs())));
    expect(verdicts.every((x) => x.visible.size === 3)).to.equal(true);
    expect(asks(USERS.colleague) - before).to.equal(1);
  });

  it('403 and 404 are a clear no; the other credential is not affected', async () => {
    const { v, metrics } = visibility();
    const [s, o, c] = await Promise.all([v.check(store.credential(USERS.scheduler), refs()), v.check(store.credential(USERS.outsider), refs()), v.check(store.credential(USERS.admin), refs())]);
    expect(s.visible.size).to.equal(0);
    expect(s.unauthorized).to.equal(false);
    expect(o.visible.size).to.equal(0);
    expect(c.visible.size).to.equal(3);
    expect(await results(metrics)).to.include({ hidden: 6, visible: 3 });
  });

  it('checks a deleted resource with its history, under the same permission', async () => {
    const { v } = visibility();
    const id = (await fhir<{ id: string }>('POST', `${up.demo.url}/Patient`, { resourceType: 'Patient' })).body.id;
    expect((await fhir('DELETE', `${up.demo.url}/Patient/${id}`)).status).to.be.lessThan(300);
    const ref = [{ reference: `Patient/${id}`, versionId: '2', deleted: true }];
    expect((await v.check(store.credential(USERS.clinician), ref)).visible.has(`Patient/${id}`)).to.equal(true);
    expect((await v.check(store.credential(USERS.scheduler), ref)).visible.size).to.equal(0);
    expect(up.requests.some((r) => r.path === `Patient/${id}/_history`)).to.equal(true);
  });

  it('401 says the credential is no longer accepted, and is not asked again for a while', async () => {
    const user = 'Bearer soon-revoked';
    up.setUser(user, { rights: { '*': ['read'] } });
    up.revoke(user);
    const { v, metrics } = visibility();
    const verdict = await v.check(store.credential(user), refs());
    expect(verdict.unauthorized).to.equal(true);
    expect(verdict.visible.size).to.equal(0);
    const before = asks(user);
    expect((await v.check(store.credential(user), [{ reference: 'Patient/other' }])).unauthorized).to.equal(true);
    expect(asks(user)).to.equal(before);
    expect(await results(metrics)).to.include({ unauthorized: 3 });
  });

  it('an upstream failure (5xx, timeout, not a Bundle) withholds, is counted, and is not cached', async () => {
    let calls = 0;
    const failing = await startHttpServer((req, res) => {
      calls++;
      if (req.url?.startsWith('/fhir/Slow')) return; // never answers
      if (req.url?.startsWith('/fhir/Odd')) return void res.writeHead(200, { 'content-type': 'application/fhir+json' }).end('{"resourceType":"Patient"}');
      res.writeHead(503).end();
    });
    try {
      const { v, metrics } = visibility(`${failing.url}/fhir`, 300);
      const c = store.credential(USERS.clinician);
      expect((await v.check(c, [{ reference: 'Patient/a' }])).visible.size).to.equal(0);
      expect((await v.check(c, [{ reference: 'Patient/a' }])).visible.size).to.equal(0);
      expect(calls, 'a failure is asked again').to.equal(2);
      expect((await v.check(c, [{ reference: 'Slow/a' }])).visible.size).to.equal(0);
      expect((await v.check(c, [{ reference: 'Odd/a' }])).visible.size).to.equal(0);
      expect(await results(metrics)).to.deep.equal({ failed: 4 });
    } finally {
      await failing.close();
    }
  });
});
