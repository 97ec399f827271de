import { expect } from 'chai';
import type { Binary, Bundle, CapabilityStatement, Element, Observation, OperationOutcome, Patient, Resource, Subscription } from '@medplum/fhirtypes';
import { startUpstream } from '../support/upstream.js';
import type { DemoUpstream } from '../support/upstream.js';

const FHIR_JSON = 'application/fhir+json';

interface Reply<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

describe('demo upstream (fhir-router over node:http)', () => {
  let upstream: DemoUpstream;

  before(async () => {
    upstream = await startUpstream();
  });

  after(async () => {
    await upstream?.close();
  });

  async function call<T = Resource>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const res = await fetch(path.startsWith('http') ? path : `${upstream.url}/${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': FHIR_JSON, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function createPatient(patient: Omit<Patient, 'resourceType'> = {}): Promise<Patient & { id: string }> {
    const res = await call<Patient & { id: string }>('POST', 'Patient', { resourceType: 'Patient', ...patient });
    expect(res.status).to.equal(201);
    return res.body;
  }

  it('serves a CapabilityStatement at /metadata', async () => {
    const res = await call<CapabilityStatement>('GET', 'metadata');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/fhir+json; charset=utf-8');
    expect(res.body.resourceType).to.equal('CapabilityStatement');
    expect(res.body.fhirVersion).to.equal('4.0.1');
    const rest = res.body.rest?.[0];
    expect(rest?.mode).to.equal('server');
    expect(rest?.interaction?.map((i) => i.code)).to.include.members(['transaction', 'batch']);
    const subscription = rest?.resource?.find((r) => r.type === 'Subscription');
    expect(subscription?.interaction?.map((i) => i.code)).to.include.members(['read', 'create', 'update', 'delete', 'search-type']);
    expect(rest?.resource?.find((r) => r.type === 'Patient')?.searchParam?.map((p) => p.name)).to.include('family');
  });

  it('creates with 201, an absolute Location with the version, and ETag/Last-Modified', async () => {
    const res = await call<Patient>('POST', 'Patient', { resourceType: 'Patient', id: 'ignored', name: [{ family: 'Smith' }] });
    expect(res.status).to.equal(201);
    const id = res.body.id as string;
    expect(id).to.be.a('string').and.not.equal('ignored');
    expect(res.headers.get('location')).to.equal(`${upstream.url}/Patient/${id}/_history/1`);
    expect(res.headers.get('etag')).to.equal('W/"1"');
    expect(res.headers.get('last-modified')).to.equal(new Date(res.body.meta?.lastUpdated as string).toUTCString());

    const read = await call<Patient>('GET', `Patient/${id}`);
    expect(read.status).to.equal(200);
    expect(read.headers.get('etag')).to.equal('W/"1"');
    expect(read.body).to.deep.equal(res.body);
  });

  it('answers 404 with an OperationOutcome for an unknown id, type or path', async () => {
    for (const path of ['Patient/does-not-exist', `${upstream.url.replace(/\/fhir$/, '')}/elsewhere`]) {
      const res = await call<OperationOutcome>('GET', path);
      expect(res.status, path).to.equal(404);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    }
    expect((await call('GET', 'NotAType?name=x')).status).to.equal(400);
  });

  it('returns search Bundles with absolute fullUrl and paging links on its own base', async () => {
    const family = `Search${Date.now()}`;
    const a = await createPatient({ name: [{ family }] });
    const b = await createPatient({ name: [{ family }] });

    const page1 = await call<Bundle>('GET', `Patient?family=${family}&_count=1`);
    expect(page1.status).to.equal(200);
    expect(page1.body.type).to.equal('searchset');
    expect(page1.body.total).to.equal(2);
    expect(page1.body.entry?.[0]?.fullUrl).to.equal(`${upstream.url}/Patient/${a.id}`);
    const self = page1.body.link?.find((l) => l.relation === 'self')?.url;
    const next = page1.body.link?.find((l) => l.relation === 'next')?.url;
    expect(self).to.equal(`${upstream.url}/Patient?_count=1&family=${family}`);
    expect(next).to.equal(`${upstream.url}/Patient?_count=1&_offset=1&family=${family}`);

    const page2 = await call<Bundle>('GET', next as string);
    expect(page2.body.entry?.map((e) => e.fullUrl)).to.deep.equal([`${upstream.url}/Patient/${b.id}`]);
    expect(page2.body.link?.find((l) => l.relation === 'previous')?.url).to.be.a('string');
    expect(page2.body.link?.some((l) => l.relation === 'next')).to.equal(false);
  });

  it('rejects an unknown search parameter instead of matching nothing', async () => {
    const res = await call<OperationOutcome>('GET', 'Patient?not-a-param=x');
    expect(res.status).to.equal(400);
    expect(res.text).to.include('not-a-param');
  });

  it('processes a transaction with urn:uuid references', async () => {
    const urn = 'urn:uuid:0b3f3b1e-8f7c-4e55-9a0a-3f0b0c1d2e3f';
    const res = await call<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: urn, resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'hr' }, subject: { reference: urn } },
          request: { method: 'POST', url: 'Observation' },
        },
        { resource: { resourceType: 'Patient', id: 'tx-upsert' }, request: { method: 'PUT', url: 'Patient/tx-upsert' } },
      ],
    });
    expect(res.status).to.equal(200);
    expect(res.body.type).to.equal('transaction-response');
    const [patient, observation, upsert] = res.body.entry ?? [];
    expect(patient?.response?.status).to.equal('201');
    expect(upsert?.response?.status).to.equal('201');
    expect(upsert?.response?.location).to.equal('Patient/tx-upsert/_history/1');
    const patientId = patient?.resource?.id as string;
    expect(patient?.fullUrl).to.equal(`${upstream.url}/Patient/${patientId}`);
    expect(patient?.response?.location).to.equal(`Patient/${patientId}/_history/1`);
    expect(patient?.response?.etag).to.equal('W/"1"');
    expect((observation?.resource as Observation).subject?.reference).to.equal(`Patient/${patientId}`);
    expect((await call('GET', `Observation/${observation?.resource?.id}`)).status).to.equal(200);
  });

  it('fails a transaction as a whole and rolls its writes back', async () => {
    const existing = await createPatient({ name: [{ family: 'Before' }] });
    const family = `Rollback${Date.now()}`;
    const res = await call<OperationOutcome>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { ...existing, name: [{ family: 'After' }] }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    });
    expect(res.status).to.equal(404);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect((await call<Bundle>('GET', `Patient?family=${family}`)).body.total).to.equal(0);
    const after = await call<Patient>('GET', `Patient/${existing.id}`);
    expect(after.body).to.deep.equal(existing);
    expect((await call<Bundle>('GET', `Patient/${existing.id}/_history`)).body.total).to.equal(1);
  });

  it('answers a batch entry by entry', async () => {
    const res = await call<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: 'Patient/does-not-exist' } }, { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }],
    });
    expect(res.status).to.equal(200);
    expect(res.body.entry?.map((e) => e.response?.status)).to.deep.equal(['404', '201']);
  });

  it('answers 400 with an OperationOutcome for a body that is not JSON, 415 for XML, 400 for an invalid resource', async () => {
    const bad = await call<OperationOutcome>('POST', 'Patient', '{"resourceType": "Patient",');
    expect(bad.status).to.equal(400);
    expect(bad.body.resourceType).to.equal('OperationOutcome');
    expect((await call('POST', 'Patient', 'null')).status).to.equal(400);
    expect((await call('POST', 'Patient', '<Patient/>', { 'content-type': 'application/fhir+xml' })).status).to.equal(415);
    const invalid = await call<OperationOutcome>('POST', 'Patient', { resourceType: 'Patient', notAnElement: 1 });
    expect(invalid.status).to.equal(400);
    expect(invalid.body.issue?.[0]?.expression).to.deep.equal(['Patient.notAnElement']);
  });

  it('answers 500 with an OperationOutcome when the adapter itself fails, and keeps serving', async () => {
    const original = upstream.repo.isCreation;
    upstream.repo.isCreation = () => {
      throw new Error('boom');
    };
    try {
      const res = await call<OperationOutcome>('PUT', 'Patient/boom', { resourceType: 'Patient', id: 'boom' });
      expect(res.status).to.equal(500);
      expect(res.body.resourceType).to.equal('OperationOutcome');
    } finally {
      upstream.repo.isCreation = original;
    }
    expect((await call('GET', 'metadata')).status).to.equal(200);
  });

  it('round-trips a 5 MB resource with identical JSON content', async () => {
    const extension = Array.from({ length: 5000 }, (_, i) => ({ url: `http://example.org/ext/${i}`, valueString: `${i}`.padEnd(1000, 'x') }));
    const sent: Patient = { resourceType: 'Patient', extension };
    const payload = JSON.stringify(sent);
    expect(payload.length).to.be.greaterThan(5_000_000);
    const created = await call<Patient>('POST', 'Patient', payload);
    expect(created.status).to.equal(201);
    const read = await call<Patient>('GET', `Patient/${created.body.id}`);
    expect(read.text).to.equal(created.text);
    const { id, meta, ...content } = read.body;
    expect(content).to.deep.equal(sent);
    expect(meta).to.have.keys(['versionId', 'lastUpdated']);
    expect(id).to.be.a('string');

    const data = Buffer.alloc(5 * 1024 * 1024, 0xab).toString('base64');
    const binary = await call<Binary>('POST', 'Binary', { resourceType: 'Binary', contentType: 'application/octet-stream', data });
    expect(binary.status).to.equal(201);
    expect((await call<Binary>('GET', `Binary/${binary.body.id}`)).body.data).to.equal(data);
  });

  it('keeps versions: update, PATCH, history newest first, vread', async () => {
    const patient = await createPatient({ name: [{ family: 'V1' }] });
    const update = await call<Patient>('PUT', `Patient/${patient.id}`, { ...patient, name: [{ family: 'V2' }] });
    expect(update.status).to.equal(200);
    expect(update.body.meta?.versionId).to.equal('2');
    const patch = await call<Patient>('PATCH', `Patient/${patient.id}`, [{ op: 'add', path: '/gender', value: 'female' }], {
      'content-type': 'application/json-patch+json',
    });
    expect(patch.status).to.equal(200);
    expect(patch.body.gender).to.equal('female');
    expect(patch.headers.get('etag')).to.equal('W/"3"');

    for (let i = 0; i < 2; i++) {
      const history = await call<Bundle<Patient>>('GET', `Patient/${patient.id}/_history`);
      expect(history.body.type).to.equal('history');
      expect(history.body.entry?.map((e) => e.resource?.meta?.versionId)).to.deep.equal(['3', '2', '1']);
      expect(history.body.entry?.map((e) => e.request?.method)).to.deep.equal(['PUT', 'PUT', 'POST']);
      expect(history.body.entry?.[0]?.fullUrl).to.equal(`${upstream.url}/Patient/${patient.id}`);
    }
    const v1 = await call<Patient>('GET', `Patient/${patient.id}/_history/1`);
    expect(v1.body.name?.[0]?.family).to.equal('V1');
  });

  it('honours If-Match, If-None-Exist, update-as-create and Prefer: return=minimal', async () => {
    const patient = await createPatient({ identifier: [{ system: 'urn:test', value: `c-${Date.now()}` }] });
    const stale = await call('PUT', `Patient/${patient.id}`, patient, { 'if-match': 'W/"9"' });
    expect(stale.status).to.equal(412);

    const ifNoneExist = `identifier=urn:test|${patient.identifier?.[0]?.value}`;
    const again = await call<Patient>('POST', 'Patient', { resourceType: 'Patient' }, { 'if-none-exist': ifNoneExist });
    expect(again.status).to.equal(200);
    expect(again.body.id).to.equal(patient.id);

    const id = `client-${Date.now()}`;
    const upsert = await call('PUT', `Patient/${id}`, { resourceType: 'Patient', id }, { prefer: 'return=minimal' });
    expect(upsert.status).to.equal(201);
    expect(upsert.text).to.equal('');
    expect(upsert.headers.get('location')).to.equal(`${upstream.url}/Patient/${id}/_history/1`);
  });

  it('answers 410 after delete and keeps the history', async () => {
    const patient = await createPatient();
    expect((await call('DELETE', `Patient/${patient.id}`)).status).to.equal(200);
    expect((await call('GET', `Patient/${patient.id}`)).status).to.equal(410);
    const history = await call<Bundle>('GET', `Patient/${patient.id}/_history`);
    expect(history.status).to.equal(200);
    expect(history.body.entry?.map((e) => e.request?.method)).to.deep.equal(['DELETE', 'POST']);
    expect(history.body.entry?.[0]?.fullUrl).to.equal(`${upstream.url}/Patient/${patient.id}`);
    expect((await call('GET', `Patient/${patient.id}/_history/1`)).status).to.equal(200);
  });

  it('stores a Subscription with a websocket channel and backport extensions', async () => {
    // @medplum/fhirtypes has no `_payload` / `_criteria`: the primitive extensions the backport IG relies on.
    const channel: Subscription['channel'] & { _payload?: Element } = {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: {
        extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'id-only' }],
      },
      extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period', valueUnsignedInt: 60 }],
    };
    const sent: Subscription & { _criteria?: Element } = {
      resourceType: 'Subscription',
      meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription'] },
      status: 'requested',
      reason: 'demo',
      criteria: 'http://example.org/SubscriptionTopic/encounter-start',
      _criteria: {
        extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: 'Encounter?patient=Patient/1' }],
      },
      channel,
    };
    const created = await call<Subscription>('POST', 'Subscription', sent);
    expect(created.status).to.equal(201);
    const read = await call<Subscription>('GET', `Subscription/${created.body.id}`);
    const { meta: sentMeta, ...sentContent } = sent;
    const { id, meta, ...content } = read.body;
    expect(id).to.equal(created.body.id);
    expect(content).to.deep.equal(sentContent);
    expect(meta?.profile).to.deep.equal(sentMeta?.profile);
    const search = await call<Bundle>('GET', 'Subscription?status=requested');
    expect(search.body.entry?.map((e) => e.resource?.id)).to.include(created.body.id);
  });

  it('gives every server its own data', async () => {
    const other = await startUpstream();
    try {
      const patient = await createPatient();
      expect(other.url).to.not.equal(upstream.url);
      expect((await fetch(`${other.url}/Patient/${patient.id}`)).status).to.equal(404);
    } finally {
      await other.close();
    }
  });
});
