import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { closedPort, startHttpServer } from '../support/http-server.js';

type Upstream = Awaited<ReturnType<typeof startHttpServer>>;

describe('reverse proxy', () => {
  let upstream: Upstream;
  let gateway: Gateway;
  let handle: (req: IncomingMessage, res: import('node:http').ServerResponse) => void = (_req, res) => res.end('{}');

  before(async () => {
    upstream = await startHttpServer((req, res) => handle(req, res));
    gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `${upstream.url}/base/fhir`, MAX_BODY_BYTES: String(40 * 1024 * 1024) });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const gw = (path: string) => `http://127.0.0.1:${gateway.port}${path}`;

  it('forwards method, path, query, body and end-to-end headers untouched, and drops hop-by-hop ones', async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string } | undefined;
    handle = (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(418, { 'content-type': 'application/fhir+json', 'x-custom': 'kept', 'keep-alive': 'timeout=5', etag: 'W/"3"' });
        res.end('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]}');
      });
    };
    const res = await request(gw('/fhir/Patient/1?_format=json&name=%C3%A9'), {
      method: 'PUT',
      headers: { authorization: 'Bearer abc.def', 'content-type': 'application/fhir+json', 'if-match': 'W/"2"', 'x-forwarded-for': '10.9.9.9' },
      body: '{"resourceType":"Patient","id":"1"}',
    });
    expect(res.statusCode).to.equal(418);
    expect(res.headers['x-custom']).to.equal('kept');
    expect(res.headers.etag).to.equal('W/"3"');
    expect(res.headers['keep-alive']).to.equal(undefined);
    expect(await res.body.text()).to.equal('{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]}');

    expect(seen!.method).to.equal('PUT');
    expect(seen!.url).to.equal('/base/fhir/Patient/1?_format=json&name=%C3%A9');
    expect(seen!.body).to.equal('{"resourceType":"Patient","id":"1"}');
    expect(seen!.headers.authorization).to.equal('Bearer abc.def');
    expect(seen!.headers['if-match']).to.equal('W/"2"');
    expect(seen!.headers['x-forwarded-for']).to.equal('10.9.9.9, 127.0.0.1');
    expect(seen!.headers['x-forwarded-proto']).to.equal('http');
    expect(seen!.headers['x-forwarded-host']).to.equal(`127.0.0.1:${gateway.port}`);
    expect(seen!.headers['x-request-id']).to.be.a('string').and.equal(res.headers['x-request-id']);
  });

  it('drops the headers a client names in Connection, and other hop-by-hop headers', async () => {
    let seen: IncomingMessage['headers'] | undefined;
    handle = (req, res) => {
      seen = req.headers;
      res.end('{}');
    };
    const socket = connect(gateway.port, '127.0.0.1');
    socket.write('GET /fhir/Patient HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-End: kept\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    expect(seen!['x-end']).to.equal('kept');
    expect(seen!['x-hop']).to.equal(undefined);
    expect(seen!['keep-alive']).to.equal(undefined);
    expect(seen!.te).to.equal(undefined);
  });

  it('refuses a method override header instead of letting the upstream see another method than the gateway routed', async () => {
    let called = false;
    handle = (_req, res) => {
      called = true;
      res.end('{}');
    };
    for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      const res = await request(gw('/fhir/Subscription/abc'), { method: 'POST', headers: { [header]: 'DELETE', 'content-type': 'application/fhir+json' }, body: '{}' });
      expect(res.statusCode).to.equal(400);
      expect(((await res.body.json()) as { issue: Array<{ diagnostics: string }> }).issue[0]!.diagnostics).to.match(new RegExp(header, 'i'));
    }
    expect(called).to.equal(false);
  });

  it('streams a large upload to the upstream intact', async () => {
    const payload = randomBytes(24 * 1024 * 1024);
    handle = (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha: hash.digest('hex') })));
    };
    async function* chunks() {
      for (let i = 0; i < payload.length; i += 1 << 20) yield payload.subarray(i, i + (1 << 20));
    }
    const res = await request(gw('/fhir/Binary'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Readable.from(chunks()) });
    const got = (await res.body.json()) as { bytes: number; sha: string };
    expect(got.bytes).to.equal(payload.length);
    expect(got.sha).to.equal(createHash('sha256').update(payload).digest('hex'));
  });

  it('keeps a keep-alive connection usable after an upload that made it pause', async () => {
    handle = (req, res) => {
      // A slow reader upstream makes the gateway pause the client's socket mid-upload.
      req.pause();
      setTimeout(() => {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => res.end(JSON.stringify({ bytes })));
        req.resume();
      }, 50);
    };
    const socket = connect(gateway.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const body = Buffer.alloc(8 * 1024 * 1024, 1);
    for (let round = 1; round <= 3; round++) {
      socket.write(`POST /fhir/Binary HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
      const deadline = Date.now() + 5000;
      while ((text.match(/"bytes":8388608/g) ?? []).length < round) {
        if (Date.now() > deadline) throw new Error(`round ${round}: no answer on the reused connection`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    socket.destroy();
  });

  it('streams a large download with its length, byte for byte', async () => {
    const payload = randomBytes(30 * 1024 * 1024);
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
      for (let i = 0; i < payload.length; i += 65536) res.write(payload.subarray(i, i + 65536));
      res.end();
    };
    const res = await request(gw('/fhir/Binary/big'));
    expect(res.headers['content-length']).to.equal(String(payload.length));
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(body.equals(payload)).to.equal(true);
  });

  it('holds the upstream back while a client reads slowly, instead of buffering the whole body', async () => {
    const total = 128 * 1024 * 1024;
    let written = 0;
    let release!: () => void;
    const stalled = new Promise<void>((r) => (release = r));
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      const chunk = Buffer.alloc(256 * 1024, 7);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            release();
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    };
    const socket = connect(gateway.port, '127.0.0.1');
    socket.write(`GET /fhir/Binary/huge HTTP/1.1\r\nHost: x\r\n\r\n`);
    socket.pause();
    await stalled;
    await new Promise((r) => setTimeout(r, 300));
    // Socket buffers on both hops hold a few MB at most; a buffering proxy would have taken it all.
    expect(written).to.be.lessThan(total / 4);
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (received >= total) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    expect(written).to.equal(total);
    socket.destroy();
  });

  it('passes a client abort mid-upload on to the upstream', async () => {
    const upstreamSaw = new Promise<{ bytes: number; complete: boolean }>((resolve) => {
      handle = (req) => {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('close', () => resolve({ bytes, complete: req.complete }));
      };
    });
    const socket = connect(gateway.port, '127.0.0.1');
    socket.write(`POST /fhir/Binary HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(1024 * 1024, 1));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    const saw = await upstreamSaw;
    expect(saw.complete).to.equal(false);
    expect(saw.bytes).to.be.lessThan(10 * 1024 * 1024);
  });

  it('answers 413 with an OperationOutcome for a declared body over the limit, without calling the upstream', async () => {
    let called = false;
    handle = (_req, res) => {
      called = true;
      res.end();
    };
    const socket = connect(gateway.port, '127.0.0.1');
    socket.write(`POST /fhir/Binary HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${41 * 1024 * 1024}\r\n\r\n`);
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    expect(answer).to.match(/^HTTP\/1.1 413 /);
    expect(answer).to.include('"resourceType":"OperationOutcome"');
    expect(answer).to.include('"code":"too-costly"');
    expect(called).to.equal(false);
  });

  it('answers 413 when a chunked upload grows past the limit', async () => {
    handle = (req, res) => {
      req.resume();
      req.on('end', () => res.end('{}'));
    };
    async function* endless() {
      for (let i = 0; i < 60; i++) yield Buffer.alloc(1024 * 1024);
    }
    const res = await request(gw('/fhir/Binary'), { method: 'POST', body: Readable.from(endless()) }).catch((err: Error) => err);
    // The gateway may close the connection while the client is still sending; either way the
    // client must not get a success, and when it does get an answer it is a 413 OperationOutcome.
    if (res instanceof Error) return;
    expect(res.statusCode).to.equal(413);
    const body = (await res.body.json()) as { resourceType: string };
    expect(body.resourceType).to.equal('OperationOutcome');
  });

  it('rewrites the upstream base URL in Location, Content-Location and JSON bodies, even split across chunks', async () => {
    const upstreamBase = `${upstream.url}/base/fhir`;
    const doc = JSON.stringify({
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'self', url: `${upstreamBase}/Patient?name=x` }],
      entry: [{ fullUrl: `${upstreamBase}/Patient/1`, resource: { resourceType: 'Patient', id: '1' } }, { fullUrl: 'ESCAPED' }],
    }).replace('"ESCAPED"', `"${upstreamBase.replaceAll('/', '\\/')}\\/Patient\\/2"`);
    handle = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/fhir+json; charset=utf-8', location: `${upstreamBase}/Patient/1/_history/1`, 'content-location': `${upstreamBase}/Patient/1` });
      // Seven-byte chunks cut every URL somewhere.
      let i = 0;
      const next = () => {
        if (i >= doc.length) return res.end();
        res.write(doc.slice(i, (i += 7)));
        setImmediate(next);
      };
      next();
    };
    const res = await request(gw('/fhir/Patient?name=x'));
    const text = await res.body.text();
    expect(res.headers.location).to.equal(`${gateway.baseUrl}/Patient/1/_history/1`);
    expect(res.headers['content-location']).to.equal(`${gateway.baseUrl}/Patient/1`);
    expect(text).not.to.include(upstream.url);
    const bundle = JSON.parse(text) as { link: { url: string }[]; entry: { fullUrl: string }[] };
    expect(bundle.link[0]!.url).to.equal(`${gateway.baseUrl}/Patient?name=x`);
    expect(bundle.entry[0]!.fullUrl).to.equal(`${gateway.baseUrl}/Patient/1`);
    expect(bundle.entry[1]!.fullUrl).to.equal(`${gateway.baseUrl}/Patient/2`);
  });

  it('rewrites a gzip-encoded JSON body and sends it decoded', async () => {
    const body = JSON.stringify({ resourceType: 'Patient', id: 'z', link: [{ other: { reference: `${upstream.url}/base/fhir/Patient/y` } }] });
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' });
      res.end(gzipSync(body));
    };
    const res = await request(gw('/fhir/Patient/z'), { headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers['content-encoding']).to.equal(undefined);
    expect(await res.body.text()).to.equal(body.replace(`${upstream.url}/base/fhir`, gateway.baseUrl));
  });

  it('leaves non-FHIR bodies alone', async () => {
    const raw = `see ${upstream.url}/base/fhir/Patient/1`;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(raw) });
      res.end(raw);
    };
    const res = await request(gw('/fhir/Binary/t'));
    expect(await res.body.text()).to.equal(raw);
  });

  it('answers HEAD with the length a GET would have, and 204 with no body', async () => {
    handle = (req, res) => {
      if (req.url!.endsWith('/gone')) {
        res.writeHead(204);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1234 });
      res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(1234));
    };
    const head = await request(gw('/fhir/Binary/h'), { method: 'HEAD' });
    expect(head.statusCode).to.equal(200);
    expect(head.headers['content-length']).to.equal('1234');
    await head.body.dump();
    const del = await request(gw('/fhir/Patient/gone'), { method: 'DELETE' });
    expect(del.statusCode).to.equal(204);
    expect(await del.body.text()).to.equal('');
  });

  it('closes the connection when the upstream dies mid-body, so the client knows the body is incomplete', async () => {
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 100000 });
      res.write(Buffer.alloc(1000));
      setTimeout(() => req.socket.destroy(), 50);
    };
    const res = await request(gw('/fhir/Binary/broken'));
    const err = await res.body.arrayBuffer().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(Error);
  });

  it('answers 404 with an OperationOutcome outside the FHIR base', async () => {
    const res = await request(gw('/elsewhere'));
    expect(res.statusCode).to.equal(404);
    expect(((await res.body.json()) as { resourceType: string }).resourceType).to.equal('OperationOutcome');
  });
});

describe('reverse proxy failures', () => {
  it('answers 502 with an OperationOutcome when the upstream refuses connections', async () => {
    const gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `http://127.0.0.1:${await closedPort()}/fhir` });
    try {
      const res = await request(`http://127.0.0.1:${gateway.port}/fhir/Patient/1`);
      expect(res.statusCode).to.equal(502);
      const body = (await res.body.json()) as { resourceType: string; issue: { code: string }[] };
      expect(body.resourceType).to.equal('OperationOutcome');
      expect(body.issue[0]!.code).to.equal('transient');
      const metrics = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      expect(metrics).to.match(/fsg_upstream_errors_total\{kind="unreachable"\} 1/);
    } finally {
      await gateway.close();
    }
  });

  it('answers 504 with an OperationOutcome when the upstream does not answer in time', async () => {
    const silent = await startHttpServer(() => {});
    const gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `${silent.url}/fhir`, UPSTREAM_TIMEOUT_MS: '300' });
    try {
      const res = await request(`http://127.0.0.1:${gateway.port}/fhir/Patient/1`);
      expect(res.statusCode).to.equal(504);
      const body = (await res.body.json()) as { resourceType: string; issue: { code: string }[] };
      expect(body.resourceType).to.equal('OperationOutcome');
      expect(body.issue[0]!.code).to.equal('timeout');
    } finally {
      await gateway.close();
      await silent.close();
    }
  });
});
