// The fan-out benchmark: `npm run bench:ws`. One invocation drives the gateway (Redis engine, demo
// upstream in its own process, spec dialect, full-resource R4) and the minimal uWebSockets.js server
// of the same wire protocol in bench/baseline-server.ts with the same load generator, alternately,
// run by run, so the difference is the gateway's own cost. Every notification is checked (none lost,
// repeated or misrouted, payload equal to what was written). See the README's "Fan-out benchmark".
//
//   npm run bench:ws -- [--quick] [--duration 20] [--repeats 3] [--workloads breadth-1k,breadth-10k,selective-1k,published-100k,idle]
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Clients } from './ws/clients.js';
import { Histogram } from './ws/histogram.js';
import { nowMs } from './ws/patient.js';
import { cpuMs, redisCpuMs, rssBytes } from './ws/proc.js';
import { killAll, startBaseline, startBenchRedis, startGateway, startUpstream, type BenchRedis, type Proc } from './ws/processes.js';
import type { Binding } from './ws/protocol.js';
import { activeSubscriptions, baselineBindings, createPatients, gatewayBindings, subscriptionsAtUpstream, subscriptionsViaGateway } from './ws/register.js';
import { markdown, type BenchFile, type MemoryResult, type RunResult, type Target } from './ws/results.js';
import { drive, publishSender, putSender, type Send } from './ws/writer.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    repeats: { type: 'string' },
    workloads: { type: 'string' },
    'rates-1k': { type: 'string' },
    'rates-10k': { type: 'string' },
    'selective-rates': { type: 'string' },
    'published-rates': { type: 'string' },
    'published-registered': { type: 'string' },
    'idle-connections': { type: 'string' },
    'drain-cap': { type: 'string' },
    warmup: { type: 'string' },
    clients: { type: 'string', default: '2' },
    'gateway-env': { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});

const quick = flags.quick;
const list = (s: string | undefined, fallback: number[]) => (s ? s.split(',').map(Number) : fallback);
const opts = {
  durationS: Number(flags.duration ?? (quick ? 5 : 20)),
  repeats: Number(flags.repeats ?? (quick ? 1 : 3)),
  workloads: (flags.workloads ?? (quick ? 'breadth-1k,published-100k,idle' : 'breadth-1k,breadth-10k,selective-1k,published-100k,idle')).split(','),
  rates1k: list(flags['rates-1k'], quick ? [5, 20] : [5, 10, 15, 25, 50]),
  rates10k: list(flags['rates-10k'], [2, 5]),
  selectiveRates: list(flags['selective-rates'], quick ? [200] : [200, 1000]),
  publishedRates: list(flags['published-rates'], quick ? [200] : [1000, 5000]),
  publishedRegistered: Number(flags['published-registered'] ?? (quick ? 2000 : 100_000)),
  publishedBound: 1000,
  idleConnections: Number(flags['idle-connections'] ?? (quick ? 300 : 2000)),
  drainCapS: Number(flags['drain-cap'] ?? (quick ? 15 : 60)),
  warmupS: Number(flags.warmup ?? 3),
  clients: Number(flags.clients),
  gatewayEnv: Object.fromEntries(flags['gateway-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
};
/** No progress for this long ends a drain: what has not arrived by then is lost. */
const STALL_MS = 10_000;
const SETTLE_MS = 3000;

interface Workload {
  name: string;
  kind: 'breadth' | 'selective' | 'published';
  registered: number;
  bound: number;
  rates: number[];
}

const WORKLOADS: Record<string, () => Workload> = {
  'breadth-1k': () => ({ name: 'breadth 1,000', kind: 'breadth', registered: 1000, bound: 1000, rates: opts.rates1k }),
  'breadth-10k': () => ({ name: 'breadth 10,000', kind: 'breadth', registered: 10_000, bound: 10_000, rates: opts.rates10k }),
  'selective-1k': () => ({ name: 'selective 1,000', kind: 'selective', registered: 1000, bound: 1000, rates: opts.selectiveRates }),
  'published-100k': () => ({
    name: `published, ${opts.publishedRegistered.toLocaleString('en-US')} registered`,
    kind: 'published',
    registered: opts.publishedRegistered,
    bound: Math.min(opts.publishedBound, opts.publishedRegistered),
    rates: opts.publishedRates,
  }),
};

const file: BenchFile = {
  date: new Date().toISOString(),
  command: `npm run bench:ws${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  node: process.version,
  cpus: cpus().length,
  loadavg: { start: loadavg() },
  options: opts,
  runs: [],
  memory: [],
  notes: [],
};

const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  target: Target;
  proc: Proc;
  base: string;
  origin: string;
  wsUrl: string;
  bindings: Binding[];
  /** How writes reach it. */
  send(run: string): Send;
  restart(): Promise<void>;
}

interface Stack {
  redis: BenchRedis;
  upstream: { proc: Proc; url: string };
  servers: Server[];
  stop(): Promise<void>;
}

const channelOf = (target: Target) => `bench:events:${target}`;

async function startStack(w: Workload | undefined, clients: Clients): Promise<Stack> {
  const redis = await startBenchRedis();
  const upstream = await startUpstream();
  const servers: Server[] = [];
  const stop = async () => {
    for (const s of servers) await s.proc.stop();
    await upstream.proc.stop();
    await redis.stop();
  };
  try {
    if (!w) return { redis, upstream, servers, stop };
    const patients = w.kind === 'breadth' ? Array.from({ length: w.registered }, () => 'bench-breadth') : Array.from({ length: w.registered }, (_, i) => `bench-p${i}`);
    const distinct = [...new Set(patients)];
    if (w.kind !== 'published') await createPatients(upstream.url, distinct);
    log(`${w.name}: storing ${w.registered} subscriptions at the upstream`);
    const ids = await subscriptionsAtUpstream(upstream.url, patients);
    const tokenSecret = randomBytes(24).toString('hex');
    const gatewayOpts = { upstream: upstream.url, redis: redis.url, eventsChannel: channelOf('gateway'), tokenSecret, extraEnv: opts.gatewayEnv };

    const gateway = await startGateway(gatewayOpts);
    const origin = (base: string) => new URL(base).origin;
    const gw: Server = {
      target: 'gateway',
      proc: gateway.proc,
      base: gateway.base,
      origin: origin(gateway.base),
      wsUrl: gateway.wsUrl,
      bindings: [],
      send: (run) => (w.kind === 'published' ? publishSender(redis.client, channelOf('gateway'), run) : putSender(gw.base, run)),
      restart: async () => {
        await gw.proc.stop();
        const again = await startGateway(gatewayOpts, gateway.port);
        Object.assign(gw, { proc: again.proc, base: again.base, origin: origin(again.base), wsUrl: again.wsUrl });
        await waitForRegistry(gw.origin, w.registered);
        // Same Redis and TOKEN_SECRET: the tokens already issued bind on the new process.
        await clients.bind('gateway', gw.wsUrl, gw.bindings);
      },
    };
    servers.push(gw);
    await waitForRegistry(gw.origin, w.registered);
    log(`${w.name}: gateway holds ${w.registered} subscriptions; ${w.bound} binding tokens`);
    gw.bindings = await gatewayBindings(gw.base, ids.slice(0, w.bound), patients);

    const baseline = await startBaseline(upstream.url, redis.url, channelOf('baseline'));
    const bl: Server = {
      target: 'baseline',
      proc: baseline.proc,
      base: baseline.base,
      origin: origin(baseline.base),
      wsUrl: baseline.wsUrl,
      bindings: [],
      send: (run) => (w.kind === 'published' ? publishSender(redis.client, channelOf('baseline'), run) : putSender(bl.base, run)),
      restart: async () => {
        await bl.proc.stop();
        const again = await startBaseline(upstream.url, redis.url, channelOf('baseline'));
        Object.assign(bl, { proc: again.proc, base: again.base, origin: origin(again.base), wsUrl: again.wsUrl });
        bl.bindings = (await baselineBindings(bl.origin, patients)).slice(0, w.bound);
        await clients.bind('baseline', bl.wsUrl, bl.bindings);
      },
    };
    servers.push(bl);
    bl.bindings = (await baselineBindings(bl.origin, patients)).slice(0, w.bound);

    for (const s of servers) {
      await clients.bind(s.target, s.wsUrl, s.bindings);
      log(`${w.name}: ${s.bindings.length} sockets bound to the ${s.target}`);
    }
    return { redis, upstream, servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForRegistry(origin: string, expected: number): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await activeSubscriptions(origin)) < expected) {
    if (Date.now() > deadline) throw new Error(`the gateway did not load ${expected} subscriptions`);
    await sleep(500);
  }
}

async function runOnce(w: Workload, stack: Stack, server: Server, clients: Clients, rate: number, repeat: number, durationMs = opts.durationS * 1000): Promise<RunResult> {
  const run = randomBytes(4).toString('hex');
  const patients = [...new Set(server.bindings.map((b) => b.patient))];
  const socketsPer = new Map<string, number>();
  for (const b of server.bindings) socketsPer.set(b.patient, (socketsPer.get(b.patient) ?? 0) + 1);

  const startAt = nowMs() + 200;
  await clients.start(server.target, run, startAt + durationMs);
  const upstreamPid = stack.upstream.proc.pid;
  const sample = async () => ({ server: cpuMs(server.proc.pid), redis: await redisCpuMs(stack.redis.client), upstream: cpuMs(upstreamPid), clients: clients.pids.map(cpuMs), at: nowMs() });
  const cpu0 = await sample();
  await sleep(Math.max(0, startAt - nowMs()));
  const writes = await drive(patients, rate, durationMs, server.send(run));
  const expected = writes.acknowledged.reduce((n, [, p]) => n + (socketsPer.get(p) ?? 0), 0);

  // Drain: wait for everything expected, or until nothing arrives for STALL_MS, or the cap.
  const drainStart = nowMs();
  let last = { received: -1, at: nowMs(), cpu: cpu0 };
  let drainEnd: RunResult['drainEnd'] = 'complete';
  for (;;) {
    const received = await clients.received();
    if (received !== last.received) last = { received, at: nowMs(), cpu: await sample() };
    if (received >= expected) break;
    if (nowMs() - last.at > STALL_MS) {
      drainEnd = 'stalled';
      break;
    }
    if (nowMs() - drainStart > opts.drainCapS * 1000) {
      drainEnd = 'cap';
      break;
    }
    await sleep(250);
  }
  const drainMs = last.at - drainStart;
  const stats = await clients.collect(writes.acknowledged);
  const latency = new Histogram();
  for (const s of stats) latency.merge(s.latency);
  const total = (f: (s: (typeof stats)[number]) => number) => stats.reduce((n, s) => n + f(s), 0);
  const delivered = total((s) => s.received);
  const elapsedMs = Math.max(1, last.cpu.at - cpu0.at);
  const result: RunResult = {
    workload: w.name,
    target: server.target,
    rate,
    repeat,
    sockets: server.bindings.length,
    durationS: durationMs / 1000,
    achievedRate: writes.achievedRate,
    offeredPerSec: (expected * 1000) / durationMs,
    notificationsPerSec: (total((s) => s.inWindow) * 1000) / durationMs,
    expected,
    delivered,
    missing: total((s) => s.missing),
    duplicates: total((s) => s.duplicates),
    misrouted: total((s) => s.misrouted),
    bad: total((s) => s.bad),
    gaps: total((s) => s.gaps),
    stale: total((s) => s.stale),
    closed: total((s) => s.closed),
    unacknowledged: total((s) => s.unacknowledged),
    writesFailed: writes.failed,
    p50Ms: latency.quantile(0.5),
    p99Ms: latency.quantile(0.99),
    writeP99Ms: writes.ackLatency.quantile(0.99),
    cpuUsPerNotification: delivered ? ((last.cpu.server - cpu0.server) * 1000) / delivered : undefined,
    serverCpuPercent: ((last.cpu.server - cpu0.server) * 100) / elapsedMs,
    redisCpuPercent: ((last.cpu.redis - cpu0.redis) * 100) / elapsedMs,
    upstreamCpuPercent: ((last.cpu.upstream - cpu0.upstream) * 100) / elapsedMs,
    clientCpuPercent: last.cpu.clients.map((c, i) => ((c - cpu0.clients[i]!) * 100) / elapsedMs),
    drainMs,
    drainEnd,
    keepsUp: false,
    errors: [...(writes.firstError ? [`write: ${writes.firstError}`] : []), ...stats.flatMap((s) => s.errors)].slice(0, 10),
  };
  result.keepsUp = result.missing === 0 && result.duplicates + result.misrouted + result.bad + result.gaps === 0 && (result.p99Ms ?? Infinity) <= 1000 && writes.failed === 0;
  return result;
}

/** Lost (beyond a drain cut short by the cap), repeated, misrouted or wrong notifications. */
function failedChecks(r: RunResult): boolean {
  return r.duplicates + r.misrouted + r.bad + r.gaps > 0 || (r.missing > 0 && r.drainEnd !== 'cap');
}

function describe(r: RunResult): string {
  const ms = (x: number | undefined) => (x === undefined ? '–' : `${x.toFixed(1)} ms`);
  return `${r.workload} @ ${r.rate}/s ${r.target}: ${Math.round(r.notificationsPerSec)} notif/s of ${Math.round(r.offeredPerSec)} offered, p50 ${ms(r.p50Ms)} p99 ${ms(r.p99Ms)}, ${r.cpuUsPerNotification?.toFixed(1) ?? '–'} µs CPU/notif, redis ${r.redisCpuPercent.toFixed(0)} %; delivered ${r.delivered}/${r.expected}, missing ${r.missing}, dup ${r.duplicates}, misrouted ${r.misrouted}, bad ${r.bad}, gaps ${r.gaps}, stale ${r.stale}, drain ${r.drainEnd} ${(r.drainMs / 1000).toFixed(1)} s${r.errors.length ? `; ${r.errors.join(' | ')}` : ''}`;
}

async function loadWorkload(w: Workload, clients: Clients): Promise<void> {
  const stack = await startStack(w, clients);
  try {
    // A first run warms each server's JIT and pools; it is checked like the others but not recorded.
    for (const server of stack.servers) {
      if (opts.warmupS <= 0) break;
      const warm = await runOnce(w, stack, server, clients, w.rates[0]!, -1, opts.warmupS * 1000);
      log(`warm-up: ${describe(warm)}`);
      if (failedChecks(warm)) file.notes.push(`the warm-up failed the checks: ${describe(warm)}`);
      if (warm.drainEnd === 'cap') await server.restart();
    }
    for (const rate of w.rates) {
      for (let repeat = 0; repeat < opts.repeats; repeat++) {
        // Alternate which server goes first so drift in the machine's load falls on both.
        const order = repeat % 2 === 0 ? stack.servers : [...stack.servers].reverse();
        for (const server of order) {
          const result = await runOnce(w, stack, server, clients, rate, repeat);
          file.runs.push(result);
          log(describe(result));
          if (result.drainEnd === 'cap') {
            // Its backlog would steal the next run's CPU: start it afresh (same Redis and upstream).
            log(`${server.target} still had a backlog after ${opts.drainCapS} s: restarting it`);
            await server.restart();
          }
          await sleep(1000);
        }
      }
    }
  } finally {
    await stack.stop();
  }
}

/** RSS at start, after registering subscriptions through each server's API, after binding a socket to each. */
async function idleMemory(clients: Clients): Promise<void> {
  const n = opts.idleConnections;
  const stack = await startStack(undefined, clients);
  try {
    const patients = Array.from({ length: n }, (_, i) => `bench-idle${i}`);
    const tokenSecret = randomBytes(24).toString('hex');
    const gateway = await startGateway({ upstream: stack.upstream.url, redis: stack.redis.url, eventsChannel: channelOf('gateway'), tokenSecret, extraEnv: opts.gatewayEnv });
    const baseline = await startBaseline(stack.upstream.url, stack.redis.url, channelOf('baseline'));
    stack.servers.push({ target: 'gateway', proc: gateway.proc } as Server, { target: 'baseline', proc: baseline.proc } as Server);
    const measure = async (pid: number) => {
      await sleep(SETTLE_MS);
      return rssBytes(pid);
    };
    for (const [target, server] of [
      ['gateway', gateway],
      ['baseline', baseline],
    ] as const) {
      const start = await measure(server.proc.pid);
      let bindings: Binding[];
      if (target === 'gateway') {
        const ids = await subscriptionsViaGateway(server.base, patients);
        bindings = await gatewayBindings(server.base, ids, patients);
      } else {
        bindings = await baselineBindings(new URL(server.base).origin, patients);
      }
      const registered = await measure(server.proc.pid);
      await clients.bind(`idle-${target}`, server.wsUrl, bindings);
      const bound = await measure(server.proc.pid);
      const memory: MemoryResult = {
        workload: `idle ${n.toLocaleString('en-US')}`,
        target,
        startMb: start / 2 ** 20,
        subscriptions: n,
        connections: n,
        perSubscriptionKb: (registered - start) / 1024 / n,
        perConnectionKb: (bound - registered) / 1024 / n,
      };
      file.memory.push(memory);
      log(`idle memory ${target}: ${memory.startMb.toFixed(0)} MB at start, ${memory.perSubscriptionKb.toFixed(2)} KB per subscription, ${memory.perConnectionKb.toFixed(2)} KB per bound connection`);
    }
  } finally {
    await stack.stop();
  }
}

const clients = new Clients(opts.clients);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
const outFile = flags.out ?? `bench/results/ws-${file.date.replace(/[:.]/g, '-')}.json`;
let failed = false;
try {
  for (const name of opts.workloads) {
    if (name === 'idle') await idleMemory(clients);
    else if (WORKLOADS[name]) await loadWorkload(WORKLOADS[name](), clients);
    else throw new Error(`unknown workload ${name}; known: ${[...Object.keys(WORKLOADS), 'idle'].join(', ')}`);
  }
} catch (err) {
  failed = true;
  file.notes.push(`aborted: ${String(err)}`);
  console.error(err);
} finally {
  await clients.close();
  file.loadavg.end = loadavg();
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(outFile, JSON.stringify(file, null, 2) + '\n');
  console.log(
    `\n${markdown(file)}\n\nmachine: ${file.cpus} CPUs, load average ${file.loadavg.start.map((x) => x.toFixed(1)).join(' ')} at start, ${file.loadavg.end.map((x) => x.toFixed(1)).join(' ')} at end; results in ${outFile}`,
  );
}
const checkFailed = file.runs.some(failedChecks) || file.notes.some((n) => n.startsWith('the warm-up failed'));
if (checkFailed) console.error('\nSOME NOTIFICATIONS FAILED THE CHECKS (see missing/duplicates/misrouted/bad above)');
process.exit(failed || checkFailed ? 1 : 0);
