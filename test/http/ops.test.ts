import { expect } from 'chai';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { startTestGateway } from '../support/gateway.js';
import { closedPort, startHttpServer } from '../support/http-server.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const SECRET = 's'.repeat(32);

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

describe('operations endpoints', () => {
  let upstream: Awaited<ReturnType<typeof startHttpServer>>;
  let release: (() => void) | undefined;
  before(async () => {
    upstream = await startHttpServer((req, res) => {
      if (req.url?.endsWith('/metadata')) return res.end('{"resourceType":"CapabilityStatement"}');
      if (req.url?.includes('/slow')) {
        release = () => res.end('{"resourceType":"Patient"}');
        return;
      }
      res.end('{}');
    });
  });
  after(() => upstream.close());

  describe('with the memory engine', () => {
    let gateway: Gateway;
    before(async () => (gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `${upstream.url}/fhir` })));
    after(() => gateway.close());

    it('/healthz answers 200 while the process runs', async () => {
      expect(await json(`http://127.0.0.1:${gateway.port}/healthz`)).to.deep.equal({ status: 200, body: { status: 'ok' } });
    });

    it('/readyz answers 200 when the upstream answers', async () => {
      const { status, body } = await json(`http://127.0.0.1:${gateway.port}/readyz`);
      expect(status).to.equal(200);
      expect(body).to.deep.equal({ status: 'ok', checks: { upstream: { ok: true }, memory: { ok: true } } });
    });

    it('/metrics exposes request counts by route class, latency, upstream errors and process metrics', async () => {
      await (await request(`http://127.0.0.1:${gateway.port}/fhir/Patient`)).body.dump();
      const text = await (await request(`http://127.0.0.1:${gateway.port}/metrics`)).body.text();
      expect(text).to.match(/fsg_http_requests_total\{route="proxy",method="GET",status="200"\} [1-9]/);
      expect(text).to.match(/fsg_http_request_duration_seconds_bucket\{le="[0-9.]+",route="proxy"\}/);
      expect(text).to.include('# TYPE fsg_upstream_errors_total counter');
      expect(text).to.include('process_cpu_user_seconds_total');
      expect(text).to.include('nodejs_eventloop_lag_seconds');
    });
  });

  it('/readyz answers 503 naming the upstream check, but not its address, when it cannot be reached', async () => {
    const port = await closedPort();
    const gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `http://127.0.0.1:${port}/fhir` });
    try {
      const { status, body } = await json(`http://127.0.0.1:${gateway.port}/readyz`);
      expect(status).to.equal(503);
      expect(body.status).to.equal('unavailable');
      expect((body.checks as Record<string, { ok: boolean; detail?: string }>).upstream).to.deep.equal({ ok: false, detail: 'unreachable' });
      expect(JSON.stringify(body)).to.not.include(String(port));
    } finally {
      await gateway.close();
    }
  });

  describe('with the Redis engine', () => {
    let redis: TestRedis;
    before(async () => (redis = await startRedis()));
    after(() => redis.stop());

    it('/readyz reports Redis, and turns 503 when Redis goes away', async () => {
      const gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `${upstream.url}/fhir`, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: SECRET });
      try {
        const up = await json(`http://127.0.0.1:${gateway.port}/readyz`);
        expect(up.status).to.equal(200);
        expect(up.body.checks).to.deep.equal({ upstream: { ok: true }, redis: { ok: true } });
        if (redis.external) return; // someone else's Redis: we may not stop it
        await redis.stop();
        await new Promise((r) => setTimeout(r, 300));
        const down = await json(`http://127.0.0.1:${gateway.port}/readyz`);
        expect(down.status).to.equal(503);
        expect((down.body.checks as Record<string, { ok: boolean }>).redis!.ok).to.equal(false);
      } finally {
        await gateway.close();
      }
    });
  });

  it('lets a request in flight finish on shutdown, and accepts no new connection', async () => {
    const gateway = await startTestGateway({ FHIR_VERSION: 'R4', FHIR_UPSTREAM_URL: `${upstream.url}/fhir`, SHUTDOWN_TIMEOUT_MS: '5000' });
    const inflight = request(`http://127.0.0.1:${gateway.port}/fhir/Patient/slow`);
    while (!release) await new Promise((r) => setTimeout(r, 10));
    const closed = gateway.close();
    await new Promise((r) => setTimeout(r, 50));
    const refused = await fetch(`http://127.0.0.1:${gateway.port}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(refused).to.equal('refused');
    release();
    const res = await inflight;
    expect(res.statusCode).to.equal(200);
    expect(await res.body.json()).to.deep.equal({ resourceType: 'Patient' });
    await closed;
  });
});
