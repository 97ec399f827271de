// The fuzz suite through a real gateway: generated requests over keep-alive connections (an undici
// Pool), events published on the channel, frames on real sockets. The properties: no answer is a
// 500 (the upstream's own answers aside, and the demo server gives none here), nothing crashes, and
// the gateway still serves afterwards.
import { expect } from 'chai';
import fc from 'fast-check';
import { Pool } from 'undici';
import WebSocket from 'ws';
import type { Gateway } from '../../src/gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { EVENT, PARAMETERS, R4_CLASSIC, R4_SUBSCRIPTION, SEED, frameText, jsonText, nearValid, pathAndQuery } from './arbitraries.js';

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

/** Runs fn over the items with `width` in flight at once. */
async function concurrently<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe(`fuzz: through a real gateway (seed ${SEED}, FUZZ_SEED to repeat)`, function () {
  this.timeout(120_000);
  let upstream: DemoUpstream;
  let gateway: Gateway;
  let pool: Pool;
  let subscriptionId: string;
  const failures: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', WS_MAX_BAD_FRAMES: '1000', EVENTS_CHANNEL: 'fhir:resource-changes' });
    pool = new Pool(`http://127.0.0.1:${gateway.port}`, { connections: 8, pipelining: 1 });
    const created = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription({ filter: 'Encounter?patient=Patient/123' }));
    expect(created.status).to.equal(201);
    subscriptionId = created.body.id;
  });
  after(async () => {
    await pool.close();
    await gateway.close();
    await upstream.close();
  });
  afterEach(function () {
    // The property failed: the first cases are enough to reproduce with FUZZ_SEED.
    if (this.currentTest?.state === 'failed') console.error(failures.slice(0, 5).join('\n'));
    failures.length = 0;
  });

  async function send(method: string, path: string, body?: string): Promise<Answer> {
    const res = await pool.request({ method, path, headers: { accept: 'application/fhir+json', ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) }, body });
    return { status: res.statusCode, type: res.headers['content-type'] as string | undefined, body: await res.body.text() };
  }

  /** The property every answer holds: no 500, and a refusal is an OperationOutcome. */
  function check(what: string, answer: Answer): void {
    const outcome = answer.status >= 400 && answer.type?.includes('json') ? (JSON.parse(answer.body) as { resourceType?: string }).resourceType : 'OperationOutcome';
    if (answer.status >= 500 || outcome !== 'OperationOutcome') failures.push(`${answer.status} for ${what.slice(0, 300)}: ${answer.body.slice(0, 300)}`);
  }

  const sample = <T>(arb: fc.Arbitrary<T>, n: number) => fc.sample(arb, { numRuns: n, seed: SEED });

  // First: the creates below leave hundreds of matching subscriptions, each event would be numbered for all.
  it('events on the channel: 10,000 near-valid events, each processed or rejected, none failing', async () => {
    const events = sample(jsonText(nearValid(EVENT)), 10_000);
    const values = async (name: string) => (await gateway.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    const sum = async (name: string) => (await values(name)).reduce((n, v) => n + v.value, 0);
    const receivedBefore = await sum('fsg_events_received_total');
    // Each its own resource version, so that claiming does not fold them into one.
    await concurrently(
      events.map((e, i) => e.replaceAll('"fuzz"', `"fuzz${i}"`).replaceAll('Encounter/fuzz', `Encounter/fuzz${i}`)),
      32,
      (e) => gateway.engine.publish('fhir:resource-changes', e, { raw: true }),
    );
    await until(async () => (await sum('fsg_events_received_total')) - receivedBefore >= events.length, 'every event received', 60_000);
    await gateway.pipeline.idle();
    const failed = (await values('fsg_events_processed_total')).filter((v) => v.labels.outcome === 'failed' && v.value > 0);
    const unprocessable = (await values('fsg_events_rejected_total')).filter((v) => v.labels.reason === 'unprocessable' && v.value > 0);
    expect({ failed, unprocessable }).to.deep.equal({ failed: [], unprocessable: [] });
    const handled = (await sum('fsg_events_processed_total')) + (await sum('fsg_events_rejected_total')) + (await sum('fsg_events_duplicate_total'));
    expect(handled, 'every event was processed, rejected or recognised as a duplicate').to.equal(events.length);
  });

  it('Subscription creates and updates: 2,000 near-valid bodies, no 500', async () => {
    const bodies = sample(jsonText(fc.oneof(nearValid(R4_SUBSCRIPTION), nearValid(R4_CLASSIC))), 2000);
    await concurrently(
      bodies.map((b, i) => [b, i] as const),
      16,
      async ([body, i]) => {
        const answer = i % 4 === 3 ? await send('PUT', `/fhir/Subscription/${subscriptionId}`, body) : await send('POST', '/fhir/Subscription', body);
        check(body, answer);
      },
    );
    expect(failures).to.deep.equal([]);
  });

  it('Parameters bodies on $status, $events and $get-ws-binding-token: 2,000 near-valid bodies, no 500', async () => {
    const ops = [
      `/fhir/Subscription/${subscriptionId}/$status`,
      '/fhir/Subscription/$status',
      `/fhir/Subscription/${subscriptionId}/$events`,
      `/fhir/Subscription/${subscriptionId}/$get-ws-binding-token`,
      '/fhir/Subscription/$get-ws-binding-token',
    ];
    const bodies = sample(jsonText(nearValid(PARAMETERS)), 2000);
    await concurrently(
      bodies.map((b, i) => [b, ops[i % ops.length]!] as const),
      16,
      async ([body, op]) => check(`${op} ${body}`, await send('POST', op, body)),
    );
    expect(failures).to.deep.equal([]);
  });

  it('paths and query strings: 3,000 requests, no 500', async () => {
    const cases = sample(fc.tuple(pathAndQuery, fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD')), 3000);
    await concurrently(cases, 16, async ([{ path, query }, method]) => {
      // undici sends a path as given; bytes it cannot put on the wire are left out.
      const target = `/fhir${path}`.replace(/[^\u0021-\u00ff]/g, '') + (query ? `?${query}` : '');
      const answer = await send(method, target, method === 'POST' || method === 'PUT' ? '{"resourceType":"Parameters"}' : undefined);
      if (method !== 'HEAD') check(`${method} ${target}`, answer);
      else if (answer.status >= 500) failures.push(`${answer.status} for HEAD ${target}`);
    });
    expect(failures).to.deep.equal([]);
  });

  it('WebSocket frames: 2,000 frames on real sockets, each answered or ignored, the socket still serving', async () => {
    const frames = sample(frameText, 2000);
    const url = `ws://127.0.0.1:${gateway.port}/ws`;
    await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        let socket = await open(url);
        for (const frame of frames.filter((_f, i) => i % 4 === k)) {
          if (socket.readyState !== WebSocket.OPEN) socket = await open(url);
          socket.send(frame);
        }
        // A socket that was not closed for too many bad frames still answers a ping.
        if (socket.readyState !== WebSocket.OPEN) socket = await open(url);
        socket.send('{"type":"ping"}');
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no pong after the fuzzed frames')), 10_000);
          socket.on('message', (data) => {
            if (
              Buffer.from(data as Buffer)
                .toString('utf8')
                .includes('pong')
            ) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        socket.close();
      }),
    );
  });

  it('still serves normally afterwards, and never answered 500', async () => {
    expect((await fhir('GET', `${gateway.baseUrl}/metadata`)).status).to.equal(200);
    expect((await fhir('GET', `${gateway.baseUrl}/Subscription/${subscriptionId}`)).status).to.equal(200);
    const requests = (await gateway.metrics.registry.getSingleMetric('fsg_http_requests_total')?.get())?.values ?? [];
    expect(requests.filter((v) => v.labels.status === '500')).to.deep.equal([]);
  });
});

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}
