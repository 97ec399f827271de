import { expect } from 'chai';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

interface Bundle {
  resourceType: 'Bundle';
  link?: { relation: string; url: string }[];
  entry?: { fullUrl?: string; resource?: { resourceType: string; id?: string } }[];
}

describe('reverse proxy in front of a real FHIR server', () => {
  let upstream: DemoUpstream;
  let gateway: Gateway;
  before(async () => {
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const post = async (path: string, body: unknown) => {
    const res = await request(`${gateway.baseUrl.replace('localhost', '127.0.0.1')}/${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
    return { status: res.statusCode, location: res.headers.location as string | undefined, text: await res.body.text() };
  };
  const get = async (url: string) => {
    const res = await request(url.replace('localhost', '127.0.0.1'));
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('stores a 5 MB resource and reads it back byte-identical to what the server itself returns', async () => {
    const extension = Array.from({ length: 5000 }, (_, i) => ({ url: `http://example.org/ext/${i}`, valueString: `${i}:`.padEnd(1000, 'x') }));
    const created = await post('Patient', { resourceType: 'Patient', extension });
    expect(created.status).to.equal(201);
    expect(created.text.length).to.be.greaterThan(5_000_000);
    expect(created.location).to.match(new RegExp(`^${gateway.baseUrl}/Patient/[^/]+/_history/1$`));
    const id = (JSON.parse(created.text) as { id: string }).id;

    const viaGateway = await get(`${gateway.baseUrl}/Patient/${id}`);
    const direct = await get(`${upstream.url}/Patient/${id}`);
    expect(viaGateway.status).to.equal(200);
    expect(viaGateway.text).to.equal(direct.text);
    expect(viaGateway.text).to.equal(created.text);
  });

  it('answers a search with a Bundle whose link and fullUrl values all point at the gateway', async () => {
    for (let i = 0; i < 3; i++) expect((await post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'paging' } })).status).to.equal(201);
    const res = await get(`${gateway.baseUrl}/Observation?_count=2`);
    expect(res.status).to.equal(200);
    expect(res.text).not.to.include(upstream.url);
    const bundle = JSON.parse(res.text) as Bundle;
    const urls = [...(bundle.link ?? []).map((l) => l.url), ...(bundle.entry ?? []).map((e) => e.fullUrl!)];
    expect(bundle.link!.map((l) => l.relation)).to.include('next');
    expect(urls.length).to.be.greaterThan(3);
    for (const url of urls) expect(url.startsWith(`${gateway.baseUrl}/`)).to.equal(true, url);

    // Following the next link stays on the gateway and gets the next page.
    const next = bundle.link!.find((l) => l.relation === 'next')!.url;
    const page2 = JSON.parse((await get(next)).text) as Bundle;
    expect(page2.entry!.length).to.be.greaterThan(0);
    for (const e of page2.entry!) expect(e.fullUrl!.startsWith(`${gateway.baseUrl}/`)).to.equal(true);
  });

  it('rewrites the fullUrls of a transaction response', async () => {
    const res = await request(gateway.baseUrl.replace('localhost', '127.0.0.1'), {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }] }),
    });
    const text = await res.body.text();
    expect(res.statusCode).to.equal(200);
    expect(text).not.to.include(upstream.url);
    expect((JSON.parse(text) as Bundle).entry![0]!.fullUrl!.startsWith(`${gateway.baseUrl}/Patient/`)).to.equal(true);
  });

  it('passes the server’s own errors through unchanged', async () => {
    const missing = await get(`${gateway.baseUrl}/Patient/does-not-exist`);
    const direct = await get(`${upstream.url}/Patient/does-not-exist`);
    expect(missing.status).to.equal(404);
    expect(missing.text).to.equal(direct.text);
  });
});
