// What delivery authorization costs: notifications per second and latency with
// DELIVERY_AUTHORIZATION=upstream beside none, measured in the same run, for
//   A. 1,000 bindings on one subscription sharing one credential (one check per event), and
//   B. 100 bindings on one subscription with 100 distinct credentials (100 checks per event).
// The upstream is the access-checking test upstream (the demo FHIR engine behind an access layer)
// in its own process, so every check is a real HTTP request answered by a real FHIR engine. The
// gateway and the `ws` clients share this process: the figures compare the two modes on one
// machine, they are not absolutes. Every event is a new resource version: no check is answered
// from the cache.
//
// Throughput: a burst of events published at once, until every client has all of them. Latency: one
// event at a time (the next once every client has the last), publish to arrival at each client.
//
// Run: npm run bench:auth            (REPEATS=3 BURST=50 PACED=10 by default; env overrides)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { startGateway, type Gateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { backportSubscription, fhir } from '../test/support/fhir.js';

const TOPIC = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/patient-record-change';
const REPEATS = Number(process.env.REPEATS ?? 3);
const BURST = Number(process.env.BURST ?? 50);
const PACED = Number(process.env.PACED ?? 10);
const NUMBER = /"event-number","valueString":"(\d+)"/;
const FOCUS = /"name":"focus"/;

type Mode = 'none' | 'upstream';
interface Scenario {
  name: string;
  bindings: number;
  credentials: number;
}
interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  upstreamAsksPerEvent: number;
  /** Notifications that arrived without their resource (a check that failed under load). */
  withheld: number;
}

const SCENARIOS: Scenario[] = [
  { name: '1,000 bindings, one credential', bindings: 1000, credentials: 1 },
  { name: '100 bindings, 100 credentials', bindings: 100, credentials: 100 },
];

const user = (i: number) => `Bearer bench-user-${i}`;

interface Upstream {
  url: string;
  demoUrl: string;
  child: ChildProcess;
}

async function startUpstreamProcess(): Promise<Upstream> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/access-upstream-main.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the upstream process exited (${code})`)));
  });
  return { ...(JSON.parse(line) as { url: string; demoUrl: string }), child };
}

async function main(): Promise<void> {
  const results = new Map<string, Result[]>();
  {
    for (let r = 0; r < REPEATS; r++) {
      for (const scenario of SCENARIOS) {
        // Alternate which mode goes first, so a noisy neighbour does not always hit the same one.
        const modes: Mode[] = r % 2 === 0 ? ['none', 'upstream'] : ['upstream', 'none'];
        for (const mode of modes) {
          // A fresh upstream per run: the demo engine's search scans every stored resource, so a
          // store that grew run after run would make later runs slower for a reason of its own.
          const up = await startUpstreamProcess();
          const result = await run(up, scenario, mode).finally(() => up.child.kill('SIGTERM'));
          const key = `${scenario.name}|${mode}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          console.error(
            `run ${r + 1} ${scenario.name} ${mode}: ${result.perSecond.toFixed(0)}/s p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms, ${result.upstreamAsksPerEvent.toFixed(2)} upstream requests/event, ${result.withheld} withheld`,
          );
        }
      }
    }
  }
  const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)} – ${Math.max(...xs).toFixed(digits)}`;
  console.log(`\n${REPEATS} runs each (min – max), ${BURST}-event bursts, ${PACED} events one at a time; Node ${process.version}\n`);
  console.log('| scenario | DELIVERY_AUTHORIZATION | notifications/s (burst) | latency p50 ms (one at a time) | latency p99 ms | upstream requests per event | withheld |');
  console.log('|---|---|---|---|---|---|---|');
  for (const scenario of SCENARIOS) {
    for (const mode of ['none', 'upstream'] as const) {
      const rs = results.get(`${scenario.name}|${mode}`)!;
      console.log(
        `| ${scenario.name} | \`${mode}\` | ${range(
          rs.map((x) => x.perSecond),
          0,
        )} | ${range(
          rs.map((x) => x.p50),
          1,
        )} | ${range(
          rs.map((x) => x.p99),
          1,
        )} | ${range(
          rs.map((x) => x.upstreamAsksPerEvent),
          2,
        )} | ${rs.reduce((n, x) => n + x.withheld, 0)} |`,
      );
    }
  }
}

async function run(up: Upstream, scenario: Scenario, mode: Mode): Promise<Result> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    FHIR_UPSTREAM_URL: up.url,
    FHIR_UPSTREAM_AUTHORIZATION: 'Bearer service-token',
    DELIVERY_AUTHORIZATION: mode,
    WS_MAX_BUFFERED_BYTES: String(256 * 1024 * 1024),
  });
  const gateway = await startGateway({ ...config, fhirUpstreamUrl: up.url }, createLogger('silent'));
  const sockets: WebSocket[] = [];
  try {
    const base = gateway.baseUrl.replace('//localhost:', '//127.0.0.1:');
    const sub = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription({ topic: TOPIC, content: 'full-resource' }), { authorization: user(0) });
    if (sub.status !== 201) throw new Error(`could not create the subscription: ${JSON.stringify(sub.body)}`);
    const tokens: string[] = [];
    for (let i = 0; i < scenario.credentials; i++) {
      const res = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${base}/Subscription/${sub.body.id}/$get-ws-binding-token`, undefined, { authorization: user(i) });
      tokens.push(res.body.parameter.find((p) => p.name === 'token')!.valueString!);
    }

    // Each client records when each event number arrived.
    const seen: Array<Map<number, number>> = [];
    let handshakes = 0;
    let withheld = 0;
    for (let i = 0; i < scenario.bindings; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/ws`);
      const mine = new Map<number, number>();
      seen.push(mine);
      ws.on('message', (data) => {
        const at = performance.now();
        const text = (data as Buffer).toString('utf8');
        if (text.includes('"handshake"')) return void handshakes++;
        const m = NUMBER.exec(text);
        if (!m) return;
        mine.set(Number(m[1]), at);
        if (!FOCUS.test(text)) withheld++;
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(`bind-with-token ${tokens[i % tokens.length]}`);
      sockets.push(ws);
    }
    await until(() => handshakes === scenario.bindings, 'every handshake');

    const patients = await createPatients(up, BURST + PACED);
    const asksBefore = await checkRequests(gateway);
    const publish = (p: { id: string; resource: object }) =>
      gateway.pipeline.publish({ interaction: 'update', reference: `Patient/${p.id}`, versionId: '1', timestamp: new Date().toISOString(), resource: p.resource });
    const received = (n: number) => () => seen.every((m) => m.size >= n);

    // Throughput: a burst, all events published at once.
    const t0 = performance.now();
    await Promise.all(patients.slice(0, BURST).map(publish));
    await until(received(BURST), 'the burst');
    const last = Math.max(...seen.flatMap((m) => [...m.values()]));
    const perSecond = (scenario.bindings * BURST) / ((last - t0) / 1000);

    // Latency: one event at a time, so none waits behind another.
    const latencies: number[] = [];
    for (const [i, p] of patients.slice(BURST).entries()) {
      const sentAt = performance.now();
      await publish(p);
      await until(received(BURST + i + 1), 'an event');
      for (const m of seen) latencies.push(m.get(BURST + i + 1)! - sentAt);
    }
    latencies.sort((a, b) => a - b);
    const upstreamAsksPerEvent = ((await checkRequests(gateway)) - asksBefore) / (BURST + PACED);
    return { perSecond, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), upstreamAsksPerEvent, withheld };
  } finally {
    for (const ws of sockets) ws.terminate();
    await gateway.close();
  }
}

/** Patients that exist at the upstream (so checks find them), created behind the access layer. */
async function createPatients(up: Upstream, n: number): Promise<Array<{ id: string; resource: object }>> {
  const out: Array<{ id: string; resource: object }> = [];
  for (let i = 0; i < n; i++) {
    const res = await fhir<{ id: string }>('POST', `${up.demoUrl}/Patient`, { resourceType: 'Patient', name: [{ family: `Bench-${i}` }], birthDate: '1970-01-01' });
    out.push({ id: res.body.id, resource: res.body });
  }
  return out;
}

const checkRequests = async (gateway: Gateway) => (await gateway.metrics.deliveryAuthRequests.get()).values[0]?.value ?? 0;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

await main();
