import { expect } from 'chai';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import type { FhirVersion } from '../../src/config.js';
import { analyseWrite, eventsFromWrite, type ForwardedWrite, type WriteEvents } from '../../src/events/from-write.js';
import { validateEvent, type WireEvent } from '../../src/events/validate.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

const HAPI = 'http://hapi.example.org:8080/fhir';
const RECEIVED = new Date('2026-01-06T10:00:05.250Z');

function write(w: Partial<ForwardedWrite> & Pick<ForwardedWrite, 'method' | 'path' | 'status'>): ForwardedWrite {
  return { query: '', headers: {}, upstreamBase: HAPI, receivedAt: RECEIVED, ...w };
}

/** analyseWrite, checking that every event it makes is one the pipeline accepts, unchanged. */
function analyse(w: ForwardedWrite, version: FhirVersion = 'R4'): WriteEvents {
  const result = analyseWrite(w, version);
  expect(eventsFromWrite(w, version)).to.deep.equal(result.events);
  for (const event of result.events) {
    const checked = validateEvent(JSON.stringify(event), { version, now: () => new Date(0) });
    expect(checked, JSON.stringify(event)).to.include({ ok: true });
    if (!checked.ok) continue;
    expect(checked.event).to.deep.include({ interaction: event.interaction, reference: event.reference, timestamp: event.timestamp });
    expect(checked.event.versionId).to.equal(event.versionId);
    if (event.eventId) expect(checked.event.eventId).to.equal(event.eventId);
    if (event.resource) expect(checked.event.resource).to.deep.equal(event.resource);
  }
  return result;
}

const events = (w: ForwardedWrite, version?: FhirVersion): WireEvent[] => analyse(w, version).events;

const patient = (id: string, versionId: string, lastUpdated = '2026-01-06T10:00:00.123+00:00', extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  id,
  meta: { versionId, lastUpdated },
  ...extra,
});

describe('events from writes the proxy forwarded', () => {
  describe('HAPI-style answers', () => {
    it('create: 201 with the resource, an absolute Location with _history and W/ ETag', () => {
      const body = patient('123', '1', '2026-01-06T10:00:00.123+00:00', { name: [{ family: 'Chalmers' }] });
      const out = analyse(
        write({
          method: 'POST',
          path: 'Patient',
          status: 201,
          headers: { location: `${HAPI}/Patient/123/_history/1`, etag: 'W/"1"', 'last-modified': 'Tue, 06 Jan 2026 10:00:00 GMT' },
          body: JSON.stringify(body),
        }),
      );
      expect(out).to.deep.equal({
        events: [{ interaction: 'create', reference: 'Patient/123', versionId: '1', timestamp: '2026-01-06T10:00:00.123+00:00', resource: body }],
        skipped: [],
      });
    });

    it('create with return=minimal: id and version from Location, time from Last-Modified', () => {
      expect(
        events(write({ method: 'POST', path: 'Patient', status: 201, headers: { Location: `${HAPI}/Patient/123/_history/1`, ETag: 'W/"1"', 'Last-Modified': 'Tue, 06 Jan 2026 10:00:00 GMT' } })),
      ).to.deep.equal([{ interaction: 'create', reference: 'Patient/123', versionId: '1', timestamp: '2026-01-06T10:00:00.000Z' }]);
    });

    it('reads a Location on another base (the server’s public address) and a relative one', () => {
      const other = events(write({ method: 'POST', path: 'Observation', status: 201, headers: { location: 'https://public.example.org/r4/Observation/o-1/_history/3' } }));
      expect(other).to.deep.equal([{ interaction: 'create', reference: 'Observation/o-1', versionId: '3', timestamp: RECEIVED.toISOString() }]);
      const relative = events(write({ method: 'POST', path: 'Observation', status: 201, headers: { location: ['Observation/o-2/_history/1'] } }));
      expect(relative[0]).to.include({ reference: 'Observation/o-2', versionId: '1' });
    });

    it('conditional create: 200 (it already existed) is no event, 201 is a create', () => {
      const existing = JSON.stringify(patient('123', '4'));
      expect(analyse(write({ method: 'POST', path: 'Patient', status: 200, headers: { etag: 'W/"4"' }, body: existing }))).to.deep.equal({ events: [], skipped: [] });
      const created = events(write({ method: 'POST', path: 'Patient', status: 201, headers: { location: `${HAPI}/Patient/124/_history/1` }, body: JSON.stringify(patient('124', '1')) }));
      expect(created.map((e) => [e.interaction, e.reference])).to.deep.equal([['create', 'Patient/124']]);
    });

    it('PUT Type/id: 201 is a create, 200 an update', () => {
      const made = events(write({ method: 'PUT', path: 'Patient/abc', status: 201, headers: { location: `${HAPI}/Patient/abc/_history/1` }, body: JSON.stringify(patient('abc', '1')) }));
      expect(made[0]).to.include({ interaction: 'create', reference: 'Patient/abc', versionId: '1' });
      const updated = events(write({ method: 'PUT', path: 'Patient/abc', status: 200, headers: { etag: 'W/"2"' }, body: JSON.stringify(patient('abc', '2')) }));
      expect(updated[0]).to.include({ interaction: 'update', reference: 'Patient/abc', versionId: '2' });
      expect(updated[0]?.resource).to.deep.equal(patient('abc', '2'));
    });

    it('conditional update PUT Type?query: the id from the body, or from Location when the body is minimal', () => {
      const fromBody = events(write({ method: 'PUT', path: 'Patient', query: 'identifier=urn:x|1', status: 200, body: JSON.stringify(patient('p9', '5')) }));
      expect(fromBody[0]).to.include({ interaction: 'update', reference: 'Patient/p9', versionId: '5' });
      const fromPathQuery = events(write({ method: 'PUT', path: 'Patient?identifier=urn:x|1', query: '', status: 201, headers: { location: `${HAPI}/Patient/p10/_history/1` } }));
      expect(fromPathQuery[0]).to.include({ interaction: 'create', reference: 'Patient/p10', versionId: '1' });
      const fromContentLocation = events(write({ method: 'PUT', path: 'Patient', query: 'identifier=urn:x|1', status: 200, headers: { 'content-location': `${HAPI}/Patient/p9/_history/6` } }));
      expect(fromContentLocation[0]).to.include({ interaction: 'update', reference: 'Patient/p9', versionId: '6' });
    });

    it('PATCH Type/id is an update', () => {
      const out = events(write({ method: 'PATCH', path: 'Patient/abc', status: 200, headers: { etag: 'W/"3"' }, body: JSON.stringify(patient('abc', '3', '2026-01-06T11:00:00Z', { active: true })) }));
      expect(out).to.have.length(1);
      expect(out[0]).to.include({ interaction: 'update', reference: 'Patient/abc', versionId: '3', timestamp: '2026-01-06T11:00:00Z' });
      const minimal = events(write({ method: 'PATCH', path: 'Patient/abc', status: 204, headers: { etag: 'W/"4"' } }));
      expect(minimal).to.deep.equal([{ interaction: 'update', reference: 'Patient/abc', versionId: '4', timestamp: RECEIVED.toISOString() }]);
    });

    it('DELETE with an ETag gets the default event id; without one an id of its own', () => {
      const outcome = JSON.stringify({ resourceType: 'OperationOutcome', id: 'ok', issue: [{ severity: 'information', code: 'informational' }] });
      const versioned = events(write({ method: 'DELETE', path: 'Patient/abc', status: 200, headers: { etag: 'W/"5"' }, body: outcome }));
      expect(versioned).to.deep.equal([{ interaction: 'delete', reference: 'Patient/abc', versionId: '5', timestamp: RECEIVED.toISOString() }]);
      const unversioned = events(write({ method: 'DELETE', path: 'Patient/abc', status: 204 }));
      expect(unversioned).to.deep.equal([{ interaction: 'delete', reference: 'Patient/abc', eventId: 'Patient/abc:delete:2026-01-06T10:00:05.250Z', timestamp: RECEIVED.toISOString() }]);
    });

    it('conditional DELETE: no event, and says why', () => {
      const out = analyse(write({ method: 'DELETE', path: 'Patient', query: 'identifier=urn:x|1', status: 200 }));
      expect(out.events).to.deep.equal([]);
      expect(out.skipped.map((s) => s.reason)).to.deep.equal(['conditional-delete']);
    });

    it('prefers the body’s id and version, ignores a body that is not the resource written', () => {
      const outcome = JSON.stringify({ resourceType: 'OperationOutcome', id: 'created', issue: [] });
      const out = events(write({ method: 'POST', path: 'Patient', status: 201, headers: { location: `${HAPI}/Patient/9/_history/1` }, body: outcome }));
      expect(out).to.deep.equal([{ interaction: 'create', reference: 'Patient/9', versionId: '1', timestamp: RECEIVED.toISOString() }]);
      const other = events(write({ method: 'PUT', path: 'Patient/1', status: 200, headers: { etag: 'W/"2"' }, body: JSON.stringify(patient('2', '7')) }));
      expect(other).to.deep.equal([{ interaction: 'update', reference: 'Patient/1', versionId: '2', timestamp: RECEIVED.toISOString() }]);
      const unparsable = events(write({ method: 'PUT', path: 'Patient/1', status: 200, headers: { etag: '"8"' }, body: '{"resourceType":"Pat' }));
      expect(unparsable[0]).to.include({ versionId: '8' });
    });

    it('leaves out a resource whose meta.versionId is unusable, and keeps the version from the headers', () => {
      const body = { resourceType: 'Patient', id: 'p1', meta: { versionId: 'not a version' } };
      const out = events(write({ method: 'PUT', path: 'Patient/p1', status: 200, headers: { etag: 'W/"3"' }, body: JSON.stringify(body) }));
      expect(out).to.deep.equal([{ interaction: 'update', reference: 'Patient/p1', versionId: '3', timestamp: RECEIVED.toISOString() }]);
    });

    it('reports a success that names no resource', () => {
      const out = analyse(write({ method: 'POST', path: 'Patient', status: 201 }));
      expect(out.events).to.deep.equal([]);
      expect(out.skipped.map((s) => s.reason)).to.deep.equal(['no-identity']);
    });

    it('makes nothing of failures, 202, searches, operations and history', () => {
      for (const w of [
        write({ method: 'POST', path: 'Patient', status: 400 }),
        write({ method: 'PUT', path: 'Patient/1', status: 412 }),
        write({ method: 'DELETE', path: 'Patient/1', status: 404 }),
        write({ method: 'POST', path: 'Patient', status: 202, headers: { 'content-location': `${HAPI}/$export-poll-status?_jobId=1` } }),
        write({ method: 'POST', path: 'Patient/_search', status: 200, body: '{"resourceType":"Bundle","type":"searchset"}' }),
        write({ method: 'POST', path: 'Patient/1/$everything', status: 200 }),
        write({ method: 'POST', path: '$process-message', status: 201 }),
        write({ method: 'POST', path: 'Patient/1', status: 201 }),
        write({ method: 'PUT', path: 'Patient/1/_history/2', status: 200 }),
        write({ method: 'DELETE', path: '', status: 200 }),
      ]) {
        expect(analyse(w), `${w.method} ${w.path} ${w.status}`).to.deep.equal({ events: [], skipped: [] });
      }
    });

    it('emits writes to Subscription and SubscriptionTopic like any other, where the version has the type', () => {
      expect(events(write({ method: 'PUT', path: 'Subscription/s1', status: 200, headers: { etag: 'W/"2"' } }))[0]).to.include({ reference: 'Subscription/s1' });
      expect(events(write({ method: 'PUT', path: 'SubscriptionTopic/t1', status: 201, headers: { etag: 'W/"1"' } }), 'R5')[0]).to.include({ reference: 'SubscriptionTopic/t1' });
      const r4 = analyse(write({ method: 'PUT', path: 'SubscriptionTopic/t1', status: 201, headers: { etag: 'W/"1"' } }), 'R4');
      expect(r4.events).to.deep.equal([]);
      expect(r4.skipped[0]?.reason).to.equal('invalid-event');
      expect(r4.skipped[0]?.detail).to.include('unknown-resource-type');
    });
  });

  describe('transactions and batches', () => {
    const hapiTransaction = (entries: unknown[]) => JSON.stringify({ resourceType: 'Bundle', type: 'transaction-response', entry: entries });

    it('a transaction with mixed entries: each write by its request method, in order', () => {
      const request = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Encounter', id: 'e1', status: 'finished' }, request: { method: 'PUT', url: 'Encounter/e1' } },
          { resource: { resourceType: 'Encounter', id: 'e2' }, request: { method: 'PUT', url: 'Encounter/e2' } },
          { request: { method: 'DELETE', url: 'Observation/o1' } },
          { request: { method: 'DELETE', url: 'Observation/o2' } },
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x|1' } },
          { resource: { resourceType: 'Binary' }, request: { method: 'PATCH', url: 'Encounter/e3' } },
          { request: { method: 'GET', url: 'Patient/p0' } },
          { request: { method: 'DELETE', url: 'Observation?code=x' } },
        ],
      };
      const response = hapiTransaction([
        { response: { status: '201 Created', location: 'Patient/p1/_history/1', etag: '1', lastModified: '2026-01-06T10:00:00.001+00:00' } },
        { response: { status: '200 OK', location: `${HAPI}/Encounter/e1/_history/4`, etag: 'W/"4"', lastModified: '2026-01-06T10:00:00.002+00:00' } },
        { resource: patient('e2', '1'), response: { status: '201 Created', location: 'Encounter/e2/_history/1' } },
        { response: { status: '204 No Content', etag: 'W/"3"' } },
        { response: { status: '200 OK' } },
        { response: { status: '200 OK', location: 'Patient/p0/_history/2' } },
        { resource: { resourceType: 'Encounter', id: 'e3', meta: { versionId: '9', lastUpdated: '2026-01-06T10:00:00.009Z' } }, response: { status: '200 OK' } },
        { resource: patient('p0', '2'), response: { status: '200 OK' } },
        { response: { status: '204 No Content' } },
      ]);
      const out = analyse(write({ method: 'POST', path: '', status: 200, body: response, requestBody: JSON.stringify(request) }));
      expect(out.events).to.deep.equal([
        { interaction: 'create', reference: 'Patient/p1', versionId: '1', timestamp: '2026-01-06T10:00:00.001+00:00' },
        { interaction: 'update', reference: 'Encounter/e1', versionId: '4', timestamp: '2026-01-06T10:00:00.002+00:00' },
        // The entry's resource is not the Encounter written, so it is not taken for it.
        { interaction: 'create', reference: 'Encounter/e2', versionId: '1', timestamp: RECEIVED.toISOString() },
        { interaction: 'delete', reference: 'Observation/o1', versionId: '3', timestamp: RECEIVED.toISOString() },
        { interaction: 'delete', reference: 'Observation/o2', eventId: 'Observation/o2:delete:2026-01-06T10:00:05.250Z#4', timestamp: RECEIVED.toISOString() },
        {
          interaction: 'update',
          reference: 'Encounter/e3',
          versionId: '9',
          timestamp: '2026-01-06T10:00:00.009Z',
          resource: { resourceType: 'Encounter', id: 'e3', meta: { versionId: '9', lastUpdated: '2026-01-06T10:00:00.009Z' } },
        },
      ]);
      expect(out.skipped.map((s) => s.reason)).to.deep.equal(['conditional-delete']);
      expect(out.skipped[0]?.detail).to.include('entry 8');
    });

    it('a batch with failed entries: those are skipped, the rest kept', () => {
      const request = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Patient', id: 'x' }, request: { method: 'PUT', url: 'Patient/x' } },
          { request: { method: 'DELETE', url: 'Patient/gone' } },
          { resource: { resourceType: 'Patient', id: 'y' }, request: { method: 'PUT', url: `${HAPI}/Patient/y` } },
        ],
      };
      const response = JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: [
          { response: { status: '400 Bad Request', outcome: { resourceType: 'OperationOutcome', issue: [] } } },
          { response: { status: '412 Precondition Failed' } },
          { response: { status: '404' } },
          { resource: patient('y', '2'), response: { status: '200 OK', etag: 'W/"2"' } },
        ],
      });
      const out = analyse(write({ method: 'POST', path: '', status: 200, body: response, requestBody: JSON.stringify(request) }));
      expect(out).to.deep.equal({
        events: [{ interaction: 'update', reference: 'Patient/y', versionId: '2', timestamp: '2026-01-06T10:00:00.123+00:00', resource: patient('y', '2') }],
        skipped: [],
      });
    });

    it('without the request bundle: only 201 entries are certain, the others are reported', () => {
      const response = hapiTransaction([
        { resource: patient('n1', '1'), response: { status: '201 Created', location: 'Patient/n1/_history/1' } },
        { resource: patient('n2', '2'), response: { status: '200 OK', location: 'Patient/n2/_history/2' } },
        { response: { status: '204 No Content' } },
        { response: { status: '201', location: 'Observation/o9/_history/1' } },
      ]);
      for (const requestBody of [undefined, '{"resourceType":"Bundle","type":"batch","entry":[]}', 'not json']) {
        const out = analyse(write({ method: 'POST', path: '', status: 200, body: response, requestBody }));
        expect(out.events.map((e) => [e.interaction, e.reference])).to.deep.equal([
          ['create', 'Patient/n1'],
          ['create', 'Observation/o9'],
        ]);
        expect(out.skipped.map((s) => s.reason)).to.deep.equal(['no-request', 'no-request']);
      }
    });

    it('reports a transaction whose answer was not kept or is not a response Bundle', () => {
      expect(analyse(write({ method: 'POST', path: '', status: 200 })).skipped.map((s) => s.reason)).to.deep.equal(['no-body']);
      expect(analyse(write({ method: 'POST', path: '', status: 200, body: '' })).skipped.map((s) => s.reason)).to.deep.equal(['no-body']);
      for (const body of ['{"resourceType":"OperationOutcome"}', '{"resourceType":"Bundle","type":"searchset","entry":[]}', '[1]', '{oops']) {
        expect(
          analyse(write({ method: 'POST', path: '', status: 200, body })).skipped.map((s) => s.reason),
          body,
        ).to.deep.equal(['unreadable-body']);
      }
    });

    it('tolerates malformed entries', () => {
      const response = hapiTransaction([null, 1, {}, { response: null }, { response: { status: 201 } }, { response: { status: 'Created' } }]);
      expect(analyse(write({ method: 'POST', path: '', status: 200, body: response, requestBody: '{"entry":[null,1,{},{"request":null},{"request":{"method":5}},{}]}' }))).to.deep.equal({
        events: [],
        skipped: [],
      });
    });
  });

  describe('against the demo upstream', () => {
    let upstream: DemoUpstream;

    before(async () => {
      upstream = await startUpstream();
    });

    after(async () => {
      await upstream?.close();
    });

    /** Sends a write and hands eventsFromWrite what the proxy would have seen. */
    async function send(method: ForwardedWrite['method'], path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ out: WriteEvents; status: number; json: unknown }> {
      const requestBody = body === undefined ? undefined : JSON.stringify(body);
      const res = await fetch(`${upstream.url}/${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/fhir+json', ...headers },
        body: requestBody,
      });
      const text = await res.text();
      const q = path.indexOf('?');
      const seen: ForwardedWrite = {
        method,
        path: q < 0 ? path : path.slice(0, q),
        query: q < 0 ? '' : path.slice(q + 1),
        status: res.status,
        headers: Object.fromEntries(res.headers),
        body: text,
        requestBody: path === '' ? requestBody : undefined,
        upstreamBase: upstream.url,
        receivedAt: new Date(),
      };
      return { out: analyse(seen), status: res.status, json: text ? JSON.parse(text) : undefined };
    }

    async function history(reference: string): Promise<string[]> {
      const bundle = (await (await fetch(`${upstream.url}/${reference}/_history`)).json()) as Bundle;
      return (bundle.entry ?? []).map((e) => `${e.request?.method}:${e.response?.etag}`);
    }

    it('follows one resource through create, conditional create, update, patch, conditional update and delete', async () => {
      const identifier = [{ system: 'urn:test', value: `fw-${Date.now()}` }];
      const created = await send('POST', 'Patient', { resourceType: 'Patient', identifier });
      expect(created.status).to.equal(201);
      const id = (created.json as Patient).id as string;
      expect(created.out.events).to.deep.equal([{ interaction: 'create', reference: `Patient/${id}`, versionId: '1', timestamp: (created.json as Patient).meta?.lastUpdated, resource: created.json }]);

      const again = await send('POST', 'Patient', { resourceType: 'Patient', identifier }, { 'if-none-exist': `identifier=urn:test|${identifier[0]?.value}` });
      expect(again.status).to.equal(200);
      expect(again.out).to.deep.equal({ events: [], skipped: [] });

      const minimal = await send('PUT', `Patient/${id}`, { resourceType: 'Patient', id, identifier, gender: 'male' }, { prefer: 'return=minimal' });
      expect(minimal.status).to.equal(200);
      expect(minimal.out.events).to.have.length(1);
      expect(minimal.out.events[0]).to.include({ interaction: 'update', reference: `Patient/${id}`, versionId: '2' });
      expect(minimal.out.events[0]).to.not.have.property('resource');

      const patched = await send('PATCH', `Patient/${id}`, [{ op: 'add', path: '/active', value: true }], { 'content-type': 'application/json-patch+json' });
      expect(patched.out.events[0]).to.deep.include({ interaction: 'update', versionId: '3', resource: patched.json });

      const conditional = await send('PUT', `Patient?identifier=urn:test|${identifier[0]?.value}`, { resourceType: 'Patient', identifier, gender: 'female' });
      expect(conditional.status).to.equal(200);
      expect(conditional.out.events[0]).to.include({ interaction: 'update', reference: `Patient/${id}`, versionId: '4' });

      const deleted = await send('DELETE', `Patient/${id}`);
      expect(deleted.status).to.equal(200);
      // The demo sends no ETag on delete, so the event carries an id of its own.
      expect(deleted.out.events).to.have.length(1);
      expect(deleted.out.events[0]).to.include({ interaction: 'delete', reference: `Patient/${id}` });
      expect(deleted.out.events[0]?.eventId).to.match(new RegExp(`^Patient/${id}:delete:`));

      expect(await history(`Patient/${id}`)).to.deep.equal(['DELETE:W/"5"', 'PUT:W/"4"', 'PUT:W/"3"', 'PUT:W/"2"', 'POST:W/"1"']);
    });

    it('conditional update that creates, and conditional delete', async () => {
      const value = `fw-c-${Date.now()}`;
      const upsert = await send('PUT', `Patient?identifier=urn:test|${value}`, { resourceType: 'Patient', identifier: [{ system: 'urn:test', value }] });
      expect(upsert.status).to.equal(201);
      expect(upsert.out.events[0]).to.include({ interaction: 'create', reference: `Patient/${(upsert.json as Patient).id}`, versionId: '1' });
      const removed = await send('DELETE', `Patient?identifier=urn:test|${value}`);
      expect(removed.status).to.equal(200);
      expect(removed.out.events).to.deep.equal([]);
      expect(removed.out.skipped.map((s) => s.reason)).to.deep.equal(['conditional-delete']);
    });

    it('PUT that creates with return=minimal: the version from Location', async () => {
      const id = `fw-${Date.now()}`;
      const res = await send('PUT', `Patient/${id}`, { resourceType: 'Patient', id }, { prefer: 'return=minimal' });
      expect(res.status).to.equal(201);
      expect(res.out.events).to.have.length(1);
      expect(res.out.events[0]).to.include({ interaction: 'create', reference: `Patient/${id}`, versionId: '1' });
    });

    it('a transaction, then a transaction with update, delete, patch and a matched conditional create', async () => {
      const tag = `fw-tx-${Date.now()}`;
      const first = await send('POST', '', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0b3f3b1e-8f7c-4e55-9a0a-3f0b0c1d2e3f',
            resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: tag }] },
            request: { method: 'POST', url: 'Patient' },
          },
          { resource: { resourceType: 'Patient', id: `${tag}-a` }, request: { method: 'PUT', url: `Patient/${tag}-a` } },
          { resource: { resourceType: 'Patient', id: `${tag}-b` }, request: { method: 'PUT', url: `Patient/${tag}-b` } },
          { resource: { resourceType: 'Patient', id: `${tag}-c` }, request: { method: 'PUT', url: `Patient/${tag}-c` } },
        ],
      });
      expect(first.status).to.equal(200);
      const made = (first.json as Bundle).entry?.[0]?.resource?.id as string;
      expect(first.out.events.map((e) => [e.interaction, e.reference, e.versionId])).to.deep.equal([
        ['create', `Patient/${made}`, '1'],
        ['create', `Patient/${tag}-a`, '1'],
        ['create', `Patient/${tag}-b`, '1'],
        ['create', `Patient/${tag}-c`, '1'],
      ]);
      expect(first.out.events.every((e) => e.resource !== undefined)).to.equal(true);

      const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/active', value: true }])).toString('base64');
      const second = await send('POST', '', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { resourceType: 'Patient', id: `${tag}-a`, gender: 'male' }, request: { method: 'PUT', url: `Patient/${tag}-a` } },
          { request: { method: 'DELETE', url: `Patient/${tag}-b` } },
          { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: `Patient/${tag}-c` } },
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:test|${tag}` } },
        ],
      });
      expect(second.status).to.equal(200);
      expect(second.out.skipped).to.deep.equal([]);
      expect(second.out.events.map((e) => [e.interaction, e.reference, e.versionId])).to.deep.equal([
        ['update', `Patient/${tag}-a`, '2'],
        ['delete', `Patient/${tag}-b`, undefined],
        ['update', `Patient/${tag}-c`, '2'],
      ]);
      expect((second.json as Bundle).entry?.[3]?.response?.status).to.equal('200');
      expect((second.json as Bundle).entry?.[3]?.resource?.id).to.equal(made);
      expect(second.out.events[1]?.eventId).to.match(new RegExp(`^Patient/${tag}-b:delete:.*#1$`));
    });

    it('a batch with a failed entry and a read', async () => {
      const res = await send('POST', '', {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'GET', url: 'Patient/does-not-exist' } },
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Patient', notAnElement: 1 }, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'GET', url: 'metadata' } },
        ],
      });
      expect(res.status).to.equal(200);
      expect((res.json as Bundle).entry?.map((e) => e.response?.status)).to.deep.equal(['404', '201', '400', '200']);
      expect(res.out).to.deep.include({ skipped: [] });
      expect(res.out.events.map((e) => e.interaction)).to.deep.equal(['create']);
    });
  });
});
