// The access-checking layer other tests rely on really enforces access: if it let everything
// through, every authorization test built on it would pass for the wrong reason.
import { expect } from 'chai';
import { startAccessUpstream, USERS, type AccessUpstream } from '../support/access-upstream.js';

describe('test upstream with access control', () => {
  let up: AccessUpstream;
  before(async () => {
    up = await startAccessUpstream();
  });
  after(() => up.close());

  const call = (method: string, path: string, auth: string | undefined, body?: object) =>
    fetch(`${up.url}/${path}`, {
      method,
      headers: { ...(auth ? { authorization: auth } : {}), ...(body ? { 'content-type': 'application/fhir+json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('refuses callers without a known token, and a revoked token from then on', async () => {
    expect((await call('GET', 'Patient', undefined)).status).to.equal(401);
    expect((await call('GET', 'Patient', 'Bearer nobody')).status).to.equal(401);
    up.setUser('Bearer temp', { rights: { '*': ['read'] } });
    expect((await call('GET', 'Patient', 'Bearer temp')).status).to.equal(200);
    up.revoke('Bearer temp');
    expect((await call('GET', 'Patient', 'Bearer temp')).status).to.equal(401);
  });

  it('denies reads by resource type, with 403 or (hiding users) 404', async () => {
    const created = await call('POST', 'Patient', USERS.clinician, { resourceType: 'Patient', name: [{ family: 'Hidden' }] });
    expect(created.status).to.equal(201);
    const patient = (await created.json()) as { id: string };
    expect((await call('GET', `Patient/${patient.id}`, USERS.clinician)).status).to.equal(200);
    expect((await call('GET', `Patient/${patient.id}`, USERS.scheduler)).status).to.equal(403);
    expect((await call('GET', `Patient/${patient.id}`, USERS.outsider)).status).to.equal(404);
    expect((await call('GET', 'Encounter', USERS.scheduler)).status).to.equal(200);
  });

  it('keeps each Subscription to its owner (and administrators), in reads and searches', async () => {
    const sub = { resourceType: 'Subscription', status: 'requested', reason: 'r', criteria: 'Patient', channel: { type: 'websocket' } };
    const created = await call('POST', 'Subscription', USERS.clinician, sub);
    expect(created.status).to.equal(201);
    const { id } = (await created.json()) as { id: string };
    expect((await call('GET', `Subscription/${id}`, USERS.clinician)).status).to.equal(200);
    expect((await call('GET', `Subscription/${id}`, USERS.colleague)).status).to.equal(404);
    expect((await call('DELETE', `Subscription/${id}`, USERS.colleague)).status).to.equal(404);
    expect((await call('GET', `Subscription/${id}`, USERS.service)).status).to.equal(200);
    const search = (await (await call('GET', 'Subscription', USERS.colleague)).json()) as { entry?: unknown[] };
    expect(search.entry ?? []).to.have.length(0);
    const own = (await (await call('GET', 'Subscription', USERS.clinician)).json()) as { entry?: Array<{ resource: { id: string } }> };
    expect(own.entry?.map((e) => e.resource.id)).to.include(id);
    expect(up.requests.some((r) => r.user === USERS.colleague && r.path === `Subscription/${id}` && r.status === 404)).to.equal(true);
  });

  it('checks every entry of a batch', async () => {
    const batch = { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } }] };
    expect((await call('POST', '', USERS.scheduler, batch)).status).to.equal(403);
    expect((await call('POST', '', USERS.clinician, batch)).status).to.equal(200);
  });
});
