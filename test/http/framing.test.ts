import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { firstBody, rawExchange } from '../support/raw-http.js';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

const PATIENT = '{"resourceType":"Patient"}';

describe('HTTP framing on raw sockets against a gateway', () => {
  let upstream: DemoUpstream;
  let recorder: RecordingProxy;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    upstream = await startUpstream();
    recorder = await startRecordingProxy(upstream.url);
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: recorder.url, FHIR_UPSTREAM_ALIASES: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
    port = gateway.port;
  });
  after(async () => {
    await gateway.close();
    await recorder.close();
    await upstream.close();
  });

  const post = (headers: string, body: string) => `POST /fhir/Patient HTTP/1.1\r\nHost: gw\r\nContent-Type: application/fhir+json\r\n${headers}\r\n${body}`;

  async function expectRefused(bytes: string, status: number, diagnostics: RegExp): Promise<void> {
    const before = recorder.seen.length;
    const answer = await rawExchange(port, bytes);
    expect(answer.statuses, answer.data.slice(0, 300)).to.deep.equal([status]);
    expect(answer.closed, 'the connection is closed after the refusal').to.equal(true);
    const outcome = JSON.parse(firstBody(answer)) as { resourceType: string; issue: Array<{ diagnostics: string }> };
    expect(outcome.resourceType).to.equal('OperationOutcome');
    expect(outcome.issue[0]!.diagnostics).to.match(diagnostics);
    expect(recorder.seen.slice(before), 'nothing reached the upstream').to.deep.equal([]);
  }

  it('refuses conflicting Content-Length headers with 400 and closes the connection', async () => {
    await expectRefused(post(`Content-Length: ${PATIENT.length}\r\nContent-Length: ${PATIENT.length + 5}\r\n`, PATIENT), 400, /Content-Length must be sent once/);
  });

  it('never serves a request smuggled behind conflicting Content-Length headers', async () => {
    // uWS alone frames the body by the first header and serves the rest as a second request.
    const smuggled = 'GET /fhir/metadata HTTP/1.1\r\nHost: gw\r\n\r\n';
    const before = recorder.seen.length;
    const sameRead = await rawExchange(port, post(`Content-Length: ${PATIENT.length}\r\nContent-Length: ${PATIENT.length + smuggled.length}\r\n`, PATIENT + smuggled));
    // Bytes after an unframeable request make uWS close at once: no answer at all, rather than two.
    expect(sameRead.statuses).to.deep.equal([]);
    expect(sameRead.closed).to.equal(true);
    expect(recorder.seen.slice(before)).to.deep.equal([]);
  });

  it('refuses a Content-Length sent twice even with the same value', async () => {
    await expectRefused(post(`Content-Length: ${PATIENT.length}\r\nContent-Length: ${PATIENT.length}\r\n`, PATIENT), 400, /Content-Length must be sent once/);
  });

  it('refuses a transfer coding it cannot decode with 501 at once instead of waiting forever for the body', async () => {
    await expectRefused(post('Transfer-Encoding: gzip, chunked\r\n', `${PATIENT.length.toString(16)}\r\n${PATIENT}\r\n0\r\n\r\n`), 501, /not supported/);
  });

  it('refuses a Transfer-Encoding that does not end with chunked, or names it twice, with 400', async () => {
    await expectRefused(post('Transfer-Encoding: gzip\r\n', ''), 400, /must end with chunked/);
    await expectRefused(post('Transfer-Encoding: identity\r\n', ''), 400, /must end with chunked/);
    await expectRefused(post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `${PATIENT.length.toString(16)}\r\n${PATIENT}\r\n0\r\n\r\n`), 400, /more than once/);
    // With its body already sent, uWS takes the body for a malformed next request and refuses that.
    const before = recorder.seen.length;
    const withBody = await rawExchange(port, post('Transfer-Encoding: gzip\r\n', PATIENT));
    expect(withBody.statuses).to.deep.equal([400]);
    expect(withBody.closed).to.equal(true);
    expect(recorder.seen.slice(before)).to.deep.equal([]);
  });

  it("leaves to uWS's own parser what it already refuses: a list in one Content-Length, or chunked beside a length", async () => {
    for (const headers of [`Content-Length: ${PATIENT.length}, ${PATIENT.length}\r\n`, `Transfer-Encoding: chunked\r\nContent-Length: ${PATIENT.length}\r\n`]) {
      const answer = await rawExchange(port, post(headers, PATIENT));
      expect(answer.statuses).to.deep.equal([400]);
      expect(answer.closed).to.equal(true);
    }
  });

  it('still takes a chunked upload and a plain one', async () => {
    const chunked = await rawExchange(port, post('Transfer-Encoding: chunked\r\nConnection: close\r\n', `${PATIENT.length.toString(16)}\r\n${PATIENT}\r\n0\r\n\r\n`));
    expect(chunked.statuses).to.deep.equal([201]);
    const plain = await rawExchange(port, post(`Content-Length: ${PATIENT.length}\r\nConnection: close\r\n`, PATIENT));
    expect(plain.statuses).to.deep.equal([201]);
  });

  it('answers pipelined requests in order when each can be answered at once', async () => {
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gw\r\n\r\n`;
    const answer = await rawExchange(port, get('/healthz') + get('/nowhere') + get('/healthz') + `GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
    expect(answer.statuses).to.deep.equal([200, 404, 200, 200]);
    expect(answer.closed).to.equal(true);
  });

  it('closes the connection at once, never leaving it hanging, when requests are pipelined behind a proxied one', async () => {
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: gw\r\n\r\n`;
    const started = Date.now();
    const answer = await rawExchange(port, get('/fhir/Patient') + get('/fhir/Patient?_count=1') + get('/healthz'), 5000);
    expect(answer.closed, 'closed rather than left open').to.equal(true);
    expect(Date.now() - started).to.be.below(4000);
    // Whatever was answered before the close is complete and in order.
    expect(answer.statuses.every((s) => s === 200)).to.equal(true);
    expect((await fhir('GET', `${gateway.baseUrl}/Patient?_count=1`)).status).to.equal(200);
  });

  it('answers HTTP/1.0 with a 505 that names the version and closes (uWS serves HTTP/1.1 only)', async () => {
    const answer = await rawExchange(port, 'GET /fhir/metadata HTTP/1.0\r\nHost: gw\r\n\r\n');
    expect(answer.statuses).to.deep.equal([505]);
    expect(answer.data).to.include('does not support HTTP/1.0');
    expect(answer.closed).to.equal(true);
  });

  it('sends no uWebSockets server header', async () => {
    const answer = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    expect(answer.statuses).to.deep.equal([200]);
    expect(answer.data.toLowerCase()).to.not.include('uwebsockets');
    const proxied = await fhir('GET', `${gateway.baseUrl}/Patient`);
    expect(Object.keys(proxied.headers)).to.not.include('uwebsockets');
  });
});
