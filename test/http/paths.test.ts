import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { parseFhirPath } from '../../src/http/request-path.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { firstBody, rawExchange } from '../support/raw-http.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

interface Outcome {
  resourceType: string;
  issue: Array<{ code: string; diagnostics?: string }>;
}

/** One request with the path written exactly as given: fetch and undici would normalise it first. */
async function rawRequest(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const head = `${method} ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nAccept: application/fhir+json\r\n`;
  const answer = await rawExchange(port, body === undefined ? `${head}\r\n` : `${head}Content-Type: application/fhir+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  if (answer.statuses.length !== 1) throw new Error(`no single response to ${method} ${path}: ${JSON.stringify(answer.data.slice(0, 200))}`);
  return { status: answer.statuses[0]!, body: firstBody(answer) };
}

describe('request paths: one path, one meaning', () => {
  describe('parseFhirPath', () => {
    const refused: Array<[string, RegExp]> = [
      ['/../admin', /dot segment/],
      ['/x/../Subscription', /dot segment/],
      ['/./Subscription', /dot segment/],
      ['/Patient/..', /dot segment/],
      ['/%2e%2e/admin', /dot segment/],
      ['/%2E%2E/admin', /dot segment/],
      ['/%2E./admin', /dot segment/],
      ['/.%2e/admin', /dot segment/],
      ['/%2e/Subscription', /dot segment/],
      ['/%252e%252e/admin', /encoded percent/],
      ['/Patient/%2525', /encoded percent/],
      ['/..\\admin', /backslash/],
      ['/Patient\\1', /backslash/],
      ['/Patient%5c1', /backslash/],
      ['/Patient%5C..%5Cadmin', /backslash/],
      ['/Patient%2f1', /encoded slash/],
      ['/Patient%2F..%2Fadmin', /encoded slash/],
      ['/Subscription;jsessionid=1', /path parameter/],
      ['/Subscription%3bx', /path parameter/],
      ['/Patient/1%00', /control character/],
      ['/Patient/%0d%0aX-Injected:1', /control character/],
      ['/Patient/%c0%ae%c0%ae', /malformed/],
      ['/Patient/é', /must be percent-encoded/],
      ['/Patient/a b', /must be percent-encoded/],
      ['/Patient/%e', /malformed/],
      ['Subscription', /continue the FHIR base/],
    ];
    for (const [path, reason] of refused) {
      it(`refuses ${path}`, () => {
        const parsed = parseFhirPath(path);
        expect(parsed.ok, path).to.equal(false);
        if (!parsed.ok) expect(parsed.reason).to.match(reason);
      });
    }

    it('collapses runs of slashes and a trailing slash, for routing and forwarding alike', () => {
      expect(parseFhirPath('//Subscription//123/')).to.deep.equal({ ok: true, segments: ['Subscription', '123'], relative: 'Subscription/123' });
      expect(parseFhirPath('')).to.deep.equal({ ok: true, segments: [], relative: '' });
      expect(parseFhirPath('/')).to.deep.equal({ ok: true, segments: [], relative: '' });
    });

    it('decodes each segment once for routing and forwards it as sent', () => {
      expect(parseFhirPath('/Subscription/%24status')).to.deep.equal({ ok: true, segments: ['Subscription', '$status'], relative: 'Subscription/%24status' });
      expect(parseFhirPath('/Patient/a.b-c/_history/2')).to.deep.equal({ ok: true, segments: ['Patient', 'a.b-c', '_history', '2'], relative: 'Patient/a.b-c/_history/2' });
    });
  });

  describe('through the gateway', () => {
    let upstream: DemoUpstream;
    let recorder: RecordingProxy;
    let gateway: Gateway;
    let port: number;
    let subscriptionId: string;

    before(async () => {
      upstream = await startUpstream();
      recorder = await startRecordingProxy(upstream.url);
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: recorder.url, FHIR_UPSTREAM_ALIASES: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
      port = gateway.port;
      const created = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription());
      expect(created.status).to.equal(201);
      subscriptionId = created.body.id;
    });
    after(async () => {
      await gateway.close();
      await recorder.close();
      await upstream.close();
    });

    const upstreamSaw = (fragment: string) => recorder.seen.some((line) => line.includes(fragment));
    const invalid = JSON.stringify({ resourceType: 'Subscription', status: 'requested', criteria: 'not a topic', channel: { type: 'websocket' } });

    const refusedPaths = [
      '/fhir/../admin',
      '/fhir/%2e%2e/admin',
      '/fhir/%2E./admin',
      '/fhir/.%2e/admin',
      '/fhir/%252e%252e/admin',
      '/fhir/..%5cadmin',
      '/fhir/..\\admin',
      '/fhir/x/../Subscription',
      '/fhir/x/%2e%2e/Subscription',
      '/fhir/Subscription;x=1',
      '/fhir/x%2f..%2fSubscription',
    ];
    for (const path of refusedPaths) {
      it(`answers ${path} with a 400 OperationOutcome and forwards nothing`, async () => {
        const before = recorder.seen.length;
        for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
          const res = await rawRequest(port, method, path, method === 'POST' || method === 'PUT' ? invalid : undefined);
          expect(res.status, `${method} ${path}`).to.equal(400);
          const body = JSON.parse(res.body) as Outcome;
          expect(body.resourceType).to.equal('OperationOutcome');
          expect(body.issue[0]!.diagnostics).to.match(/^Refused: the path contains/);
        }
        expect(recorder.seen.slice(before)).to.deep.equal([]);
      });
    }

    it('validates a Subscription create however the path is spelled with extra slashes', async () => {
      const before = recorder.seen.length;
      for (const path of ['/fhir//Subscription', '/fhir/Subscription/', '/fhir///Subscription//']) {
        const res = await rawRequest(port, 'POST', path, invalid);
        // 422: the gateway's own validation answered, not a refusal of the path and not the upstream.
        expect(res.status, path).to.equal(422);
        expect((JSON.parse(res.body) as Outcome).issue[0]!.diagnostics).to.match(/not a topic/);
      }
      expect(recorder.seen.slice(before)).to.deep.equal([]);
    });

    it('validates a Subscription update written with a doubled slash instead of passing it through', async () => {
      const before = recorder.seen.length;
      const res = await rawRequest(port, 'PUT', `/fhir/Subscription//${subscriptionId}`, JSON.stringify({ ...JSON.parse(invalid), id: subscriptionId }));
      expect(res.status).to.equal(422);
      expect(recorder.seen.slice(before)).to.deep.equal([]);
    });

    it('forwards the normalised path to the upstream', async () => {
      const res = await rawRequest(port, 'GET', '/fhir//Patient/?_count=1');
      expect(res.status).to.equal(200);
      expect(recorder.seen.at(-1)).to.equal('GET /fhir/Patient?_count=1');
    });

    for (const id of ['__proto__', '_foo', 'constructor%20x', 'a'.repeat(65), 'a%2Bb']) {
      it(`refuses the Subscription id ${id.slice(0, 20)} with 400, for reads, writes and operations`, async () => {
        const before = recorder.seen.length;
        for (const [method, suffix] of [
          ['GET', ''],
          ['PUT', ''],
          ['DELETE', ''],
          ['GET', '/$status'],
          ['GET', '/$events'],
          ['POST', '/$get-ws-binding-token'],
          ['GET', '/_history'],
        ] as const) {
          const res = await rawRequest(port, method, `/fhir/Subscription/${id}${suffix}`, method === 'PUT' ? invalid : undefined);
          expect(res.status, `${method} ${id}${suffix}`).to.equal(400);
          expect((JSON.parse(res.body) as Outcome).issue[0]!.diagnostics).to.match(/is not a valid Subscription id/);
        }
        expect(recorder.seen.slice(before)).to.deep.equal([]);
      });
    }

    it('still proxies the type-level interactions spelled with _ and the instance history', async () => {
      // The demo server has no type-level history: what matters is that the upstream was asked.
      expect((await rawRequest(port, 'GET', '/fhir/Subscription/_history')).status).to.not.equal(400);
      expect(upstreamSaw('GET /fhir/Subscription/_history')).to.equal(true);
      expect((await rawRequest(port, 'POST', '/fhir/Subscription/_search', '')).status).to.equal(200);
      expect(upstreamSaw('POST /fhir/Subscription/_search')).to.equal(true);
      await rawRequest(port, 'GET', `/fhir/Subscription/${subscriptionId}/_history`);
      expect(upstreamSaw(`GET /fhir/Subscription/${subscriptionId}/_history`)).to.equal(true);
      expect((await rawRequest(port, 'GET', `/fhir/Subscription/${subscriptionId}/_history/__proto__`)).status).to.equal(400);
    });
  });
});
