import { expect } from 'chai';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { startHttpServer } from '../support/http-server.js';

describe('nothing of the upstream reaches a client', () => {
  let upstream: Awaited<ReturnType<typeof startHttpServer>>;
  let gateway: Gateway;
  let base: string;
  let origin: string;

  before(async () => {
    upstream = await startHttpServer((req, res) => {
      const u = base;
      const shouted = u.replace('http://127.0.0.1', 'HTTP://127.0.0.1');
      res.writeHead(req.url?.includes('denied') ? 401 : 200, {
        'content-type': 'application/fhir+json',
        'www-authenticate': `Bearer realm="${u}", error="invalid_token"`,
        refresh: `5; url=${origin}/login`,
        link: `<${shouted}/Patient?page=2>; rel="next"`,
        location: `${u}/Patient/1/_history/1`,
        'content-location': `${u}/Patient/1`,
        'x-upstream-note': `served by ${origin}`,
      });
      res.end(
        JSON.stringify({
          resourceType: 'Bundle',
          link: [
            { relation: 'next', url: `${shouted}/Patient?page=2` },
            { relation: 'other', url: `x?from=${encodeURIComponent(u)}%2FPatient` },
          ],
        }).replace('"next"', `"next","escaped":"${u.replaceAll('/', '\\/')}\\/Patient"`),
      );
    });
    origin = upstream.url;
    base = `${origin}/base/fhir`;
    gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: base });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  for (const path of ['/fhir/Patient', '/fhir/Patient/denied']) {
    it(`rewrites the upstream's address in every header and body spelling (${path})`, async () => {
      const res = await request(`http://127.0.0.1:${gateway.port}${path}`);
      const text = await res.body.text();
      const port = new URL(origin).port;
      const gw = gateway.baseUrl;
      expect(res.headers['www-authenticate']).to.equal(`Bearer realm="${gw}", error="invalid_token"`);
      expect(res.headers.refresh).to.equal(`5; url=${new URL(gw).origin}/login`);
      expect(res.headers.link).to.equal(`<${gw}/Patient?page=2>; rel="next"`);
      expect(res.headers.location).to.equal(`${gw}/Patient/1/_history/1`);
      expect(res.headers['content-location']).to.equal(`${gw}/Patient/1`);
      expect(res.headers['x-upstream-note']).to.equal(`served by ${new URL(gw).origin}`);
      expect(res.headers).to.not.have.property('uwebsockets');
      for (const [name, value] of Object.entries(res.headers)) expect(String(value), name).to.not.include(`:${port}`);
      expect(text).to.not.include(`:${port}`);
      expect(text).to.not.include(`%3A${port}`);
      const bundle = JSON.parse(text) as { link: Array<{ url: string; escaped?: string }> };
      expect(bundle.link[0]!.url).to.equal(`${gw}/Patient?page=2`);
      expect(bundle.link[1]!.url).to.equal(`x?from=${encodeURIComponent(gw)}%2FPatient`);
      expect(bundle.link[0]!.escaped).to.equal(`${gw}/Patient`);
    });
  }
});
