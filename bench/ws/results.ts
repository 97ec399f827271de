// What one benchmark invocation records (bench/results/*.json) and how its table is printed:
// every figure as the median over repeats with its spread (min–max).
export type Target = 'gateway' | 'baseline';

export interface RunResult {
  workload: string;
  target: Target;
  /** Writes (or published events) per second offered. */
  rate: number;
  repeat: number;
  sockets: number;
  durationS: number;
  achievedRate: number;
  offeredPerSec: number;
  /** Checked notifications that arrived within the write window, per second of it. */
  notificationsPerSec: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  misrouted: number;
  bad: number;
  gaps: number;
  stale: number;
  closed: number;
  unacknowledged: number;
  writesFailed: number;
  p50Ms?: number;
  p99Ms?: number;
  writeP99Ms?: number;
  /** Server CPU (all threads) from the first write to the last notification, per notification. */
  cpuUsPerNotification?: number;
  serverCpuPercent: number;
  redisCpuPercent: number;
  upstreamCpuPercent: number;
  /** Each client process's CPU over the run: near 100 % means the client, not the server, set the pace. */
  clientCpuPercent: number[];
  drainMs: number;
  drainEnd: 'complete' | 'stalled' | 'cap';
  keepsUp: boolean;
  errors: string[];
}

export interface MemoryResult {
  workload: string;
  target: Target;
  /** RSS once started, before any subscription. */
  startMb: number;
  subscriptions: number;
  connections: number;
  perSubscriptionKb: number;
  perConnectionKb: number;
}

export interface BenchFile {
  date: string;
  command: string;
  node: string;
  cpus: number;
  loadavg: { start: number[]; end?: number[] };
  options: Record<string, unknown>;
  runs: RunResult[];
  memory: MemoryResult[];
  notes: string[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: Array<number | undefined>): Spread | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

function num(x: number): string {
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmt(s: Spread | undefined, unit = ''): string {
  if (!s) return '–';
  return s.min === s.max ? `${num(s.median)}${unit}` : `${num(s.median)}${unit} (${num(s.min)}–${num(s.max)})`;
}

export interface Row {
  workload: string;
  rate: number;
  target: Target;
  runs: RunResult[];
}

/** Runs grouped by workload, rate and target, in the order they were first run. */
export function rows(runs: readonly RunResult[]): Row[] {
  const out = new Map<string, Row>();
  for (const r of runs) {
    const key = `${r.workload}|${r.rate}|${r.target}`;
    if (!out.has(key)) out.set(key, { workload: r.workload, rate: r.rate, target: r.target, runs: [] });
    out.get(key)!.runs.push(r);
  }
  return [...out.values()];
}

/** The Markdown tables the README quotes. */
export function markdown(file: BenchFile): string {
  const lines = [
    '| workload | rate /s | server | offered notif./s | delivered notif./s | p50 write→frame | p99 write→frame | p99 PUT (or PUBLISH) | server CPU µs/notif. | Redis CPU % | keeps up | behind at drain cap | lost · dup · misrouted · bad |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows(file.runs)) {
    const r = row.runs;
    const kept = r.filter((x) => x.keepsUp).length;
    lines.push(
      `| ${row.workload} | ${row.rate} | ${row.target} | ${fmt(spread(r.map((x) => x.offeredPerSec)))} | ${fmt(spread(r.map((x) => x.notificationsPerSec)))} | ${fmt(spread(r.map((x) => x.p50Ms)), ' ms')} | ${fmt(spread(r.map((x) => x.p99Ms)), ' ms')} | ${fmt(spread(r.map((x) => x.writeP99Ms)), ' ms')} | ${fmt(spread(r.map((x) => x.cpuUsPerNotification)))} | ${fmt(spread(r.map((x) => x.redisCpuPercent)))} | ${kept}/${r.length} | ${sum(r, (x) => (x.drainEnd === 'cap' ? x.missing : 0))} | ${sum(r, (x) => (x.drainEnd === 'cap' ? 0 : x.missing))} · ${sum(r, (x) => x.duplicates)} · ${sum(r, (x) => x.misrouted)} · ${sum(r, (x) => x.bad + x.gaps)} |`,
    );
  }
  if (file.memory.length) {
    lines.push('', '| idle memory | server | RSS at start | subscriptions | per subscription | connections | per bound connection |', '|---|---|---|---|---|---|---|');
    for (const m of file.memory)
      lines.push(
        `| ${m.workload} | ${m.target} | ${num(m.startMb)} MB | ${m.subscriptions.toLocaleString('en-US')} | ${m.subscriptions ? `${num(m.perSubscriptionKb)} KB` : '–'} | ${m.connections.toLocaleString('en-US')} | ${num(m.perConnectionKb)} KB |`,
      );
  }
  return lines.join('\n');
}

function sum(runs: readonly RunResult[], f: (r: RunResult) => number): number {
  return runs.reduce((n, r) => n + f(r), 0);
}
