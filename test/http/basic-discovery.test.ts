import { expect } from 'chai';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { parseTopic } from '../../src/topics/parse.js';
import { ADMISSION, fhir, HIGH_VALUE, RECORD_CHANGE, type Bundle, type Resource } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { basicTopic, ENCOUNTER_COMPLETE } from '../topics/fixtures.js';

const TOPIC_CODE = 'http://hl7.org/fhir/fhir-types|SubscriptionTopic';
const urlOf = (r: Resource) => parseTopic(r, { kind: 'upstream', reference: `Basic/${r.id}` }).url;

describe('topic discovery on R4: GET Basic?code=…', () => {
  let upstream: DemoUpstream;
  let gateway: Gateway;
  const search = (query: string) => fhir<Bundle>('GET', `${gateway.baseUrl}/Basic?${query}`);

  before(async () => {
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
    expect(gateway.fhirVersion).to.equal('R4');
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('finds the configured topics, Basic-wrapped as the 1.2.0-ballot IG describes', async () => {
    const found = await search(`code=${encodeURIComponent(TOPIC_CODE)}`);
    expect(found.status).to.equal(200);
    expect(found.body.type).to.equal('searchset');
    const resources = found.body.entry!.map((e) => e.resource);
    expect(resources.map((r) => r.resourceType)).to.deep.equal(['Basic', 'Basic', 'Basic']);
    expect(resources.map(urlOf).sort()).to.deep.equal([ADMISSION, HIGH_VALUE, RECORD_CHANGE].sort());
    const admission = resources.find((r) => urlOf(r) === ADMISSION)!;
    expect(admission.code).to.deep.equal({ coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] });
    expect(admission.meta).to.deep.equal({ profile: ['http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic'] });
    expect(found.body.entry!.every((e) => e.search?.mode === 'match' && e.fullUrl === `${gateway.baseUrl}/Basic/${e.resource.id}`)).to.equal(true);
  });

  it('reads a configured topic at the fullUrl the search gave', async () => {
    const found = await search(`code=${encodeURIComponent(TOPIC_CODE)}`);
    const entry = found.body.entry!.find((e) => urlOf(e.resource) === ADMISSION)!;
    const read = await fhir<Resource>('GET', entry.fullUrl!);
    expect(read.status).to.equal(200);
    expect(read.body).to.deep.equal(entry.resource);
  });

  it('accepts the code without its system, and narrows by the topic search parameters', async () => {
    expect((await search('code=SubscriptionTopic')).body.total).to.equal(3);
    const one = await search(`code=${encodeURIComponent(TOPIC_CODE)}&url=${encodeURIComponent(ADMISSION)}`);
    expect(one.body.entry!.map((e) => urlOf(e.resource))).to.deep.equal([ADMISSION]);
    const counted = await search(`code=${encodeURIComponent(TOPIC_CODE)}&_count=1`);
    expect(counted.body.total).to.equal(3);
    expect(counted.body.entry).to.have.length(1);
  });

  it('answers POST Basic/_search with the code in the URL and other parameters in a form body', async () => {
    const res = await request(`${gateway.baseUrl.replace('localhost', '127.0.0.1')}/Basic/_search?code=${encodeURIComponent(TOPIC_CODE)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/fhir+json' },
      body: `url=${encodeURIComponent(RECORD_CHANGE)}`,
    });
    expect(res.statusCode).to.equal(200);
    const bundle = (await res.body.json()) as Bundle;
    expect(bundle.entry!.map((e) => urlOf(e.resource))).to.deep.equal([RECORD_CHANGE]);
  });

  it('lists a topic stored at the upstream once, beside the configured ones', async () => {
    const stored = await fhir<Resource>('POST', `${gateway.baseUrl}/Basic`, {
      ...basicTopic({ complex: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.', artifact: true }),
      id: undefined,
    });
    expect(stored.status).to.equal(201);
    await until(async () => ((await search(`code=${encodeURIComponent(TOPIC_CODE)}`)).body.total ?? 0) === 4, 'the upstream topic to be discovered');
    const found = await search(`code=${encodeURIComponent(TOPIC_CODE)}`);
    const urls = found.body.entry!.map((e) => urlOf(e.resource));
    expect(urls.filter((u) => u === ENCOUNTER_COMPLETE)).to.have.length(1);
    const upstreamEntry = found.body.entry!.find((e) => urlOf(e.resource) === ENCOUNTER_COMPLETE)!;
    expect(upstreamEntry.resource.id).to.equal(stored.body.id);
    // Its fullUrl is the upstream's own resource, read through the proxy.
    const read = await fhir<Resource>('GET', upstreamEntry.fullUrl!);
    expect(read.status).to.equal(200);
    expect(read.body.meta).to.have.property('versionId');
  });

  it('leaves every other Basic search and read to the upstream', async () => {
    const note = await fhir<Resource>('POST', `${gateway.baseUrl}/Basic`, { resourceType: 'Basic', code: { coding: [{ system: 'http://example.org/kinds', code: 'note' }] } });
    expect(note.status).to.equal(201);
    const notes = await search('code=http://example.org/kinds|note');
    expect(notes.status).to.equal(200);
    expect(notes.body.entry!.map((e) => e.resource.id)).to.deep.equal([note.body.id]);
    expect((await fhir<Resource>('GET', `${gateway.baseUrl}/Basic/${note.body.id}`)).body.id).to.equal(note.body.id);
    expect((await fhir<Resource>('GET', `${gateway.baseUrl}/Basic/no-such-basic`)).status).to.equal(404);
  });

  it('refuses with an OperationOutcome a search it cannot answer exactly', async () => {
    const mixed = await search(`code=${encodeURIComponent(`${TOPIC_CODE},http://example.org/kinds|note`)}`);
    expect(mixed.status).to.equal(400);
    expect(mixed.body.resourceType).to.equal('OperationOutcome');
    expect(JSON.stringify(mixed.body)).to.match(/search for them separately/);
    const unknown = await search(`code=${encodeURIComponent(TOPIC_CODE)}&subject=Patient/1`);
    expect(unknown.status).to.equal(400);
    expect(JSON.stringify(unknown.body)).to.match(/"subject\\" is not supported/);
  });
});
