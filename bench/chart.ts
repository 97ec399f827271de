// The README's fan-out chart (and, on stdout, its table), drawn by hand as SVG from a `npm run bench:ws` result file: per
// workload, delivered notifications/s and p99 write→frame against offered notifications/s, the
// gateway beside the baseline, each point the median over repeats with a min–max whisker.
//
//   npm run bench:chart -- [bench/results/<file>.json] [--out docs/bench-ws.svg]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { markdown, rows, spread, type BenchFile, type RunResult, type Spread, type Target } from './ws/results.js';

const PANEL_W = 400;
const PANEL_H = 240;
const MARGIN = { left: 70, right: 20, top: 36, bottom: 46 };
const COLORS: Record<Target, string> = { gateway: '#d9480f', baseline: '#1c7ed6' };

interface Point {
  x: number;
  y: Spread;
}

interface Series {
  target: Target;
  points: Point[];
}

interface Scale {
  (v: number): number;
  ticks: number[];
  label(v: number): string;
}

function niceStep(span: number): number {
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

const short = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(1)}`);

function linear(max: number, from: number, to: number): Scale {
  const step = niceStep(max || 1);
  const top = Math.ceil((max || 1) / step) * step;
  const scale = ((v: number) => from + ((to - from) * v) / top) as Scale;
  scale.ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  scale.label = short;
  return scale;
}

function logScale(min: number, max: number, from: number, to: number): Scale {
  const lo = Math.floor(Math.log10(Math.max(min, 0.1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1))));
  const scale = ((v: number) => from + ((to - from) * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo)) as Scale;
  scale.ticks = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  scale.label = (v) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`);
  return scale;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(x0: number, y0: number, title: string, series: Series[], yLog: boolean, yLabel: string, diagonal: boolean): string {
  const left = x0 + MARGIN.left;
  const right = x0 + PANEL_W - MARGIN.right;
  const top = y0 + MARGIN.top;
  const bottom = y0 + PANEL_H - MARGIN.bottom;
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p.x));
  const yMax = Math.max(...all.map((p) => p.y.max), diagonal ? xMax : 0);
  const x = linear(xMax, left, right);
  const y = yLog ? logScale(Math.min(...all.map((p) => p.y.min)), yMax, bottom, top) : linear(yMax, bottom, top);
  const out: string[] = [`<text x="${x0 + PANEL_W / 2}" y="${y0 + 20}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (const t of y.ticks)
    out.push(
      `<line x1="${left}" x2="${right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e9ecef"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${y.label(t)}</text>`,
    );
  for (const t of x.ticks) out.push(`<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${x.label(t)}</text>`);
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#495057"/><line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#495057"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle">offered notifications/s</text>`);
  out.push(`<text transform="translate(${x0 + 16},${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  if (diagonal) out.push(`<line x1="${x(0)}" y1="${y(0)}" x2="${x(xMax).toFixed(1)}" y2="${y(xMax).toFixed(1)}" stroke="#adb5bd" stroke-dasharray="4 4"/>`);
  for (const s of series) {
    const color = COLORS[s.target];
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${x(p.x).toFixed(1)},${y(p.y.median).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const px = x(p.x).toFixed(1);
      out.push(
        `<line x1="${px}" x2="${px}" y1="${y(p.y.min).toFixed(1)}" y2="${y(p.y.max).toFixed(1)}" stroke="${color}"/><circle cx="${px}" cy="${y(p.y.median).toFixed(1)}" r="3.5" fill="${color}"/>`,
      );
    }
  }
  return out.join('\n');
}

function seriesOf(runsByTarget: Map<Target, RunResult[][]>, value: (r: RunResult) => number | undefined): Series[] {
  const out: Series[] = [];
  for (const [target, groups] of runsByTarget) {
    const points = groups.flatMap((runs) => {
      const x = spread(runs.map((r) => r.offeredPerSec));
      const y = spread(runs.map(value));
      return x && y ? [{ x: x.median, y }] : [];
    });
    if (points.length) out.push({ target, points });
  }
  return out;
}

export function chart(file: BenchFile): string {
  const workloads = [...new Set(file.runs.map((r) => r.workload))];
  const panels: string[] = [];
  workloads.forEach((w, i) => {
    const byTarget = new Map<Target, RunResult[][]>();
    for (const row of rows(file.runs.filter((r) => r.workload === w))) {
      const list = byTarget.get(row.target) ?? [];
      list.push(row.runs);
      byTarget.set(row.target, list);
    }
    const y0 = 40 + i * PANEL_H;
    panels.push(
      panel(
        0,
        y0,
        `${w}: delivered`,
        seriesOf(byTarget, (r) => r.notificationsPerSec),
        false,
        'notifications/s',
        true,
      ),
    );
    panels.push(
      panel(
        PANEL_W,
        y0,
        `${w}: p99 write→frame`,
        seriesOf(byTarget, (r) => r.p99Ms),
        true,
        'p99 latency',
        false,
      ),
    );
  });
  const width = 2 * PANEL_W;
  const height = 40 + workloads.length * PANEL_H + 30 + 14 * wrap(file.command, 120).length;
  const legend = (['gateway', 'baseline'] as const)
    .map(
      (t, i) =>
        `<rect x="${20 + i * 230}" y="12" width="14" height="14" fill="${COLORS[t]}"/><text x="${40 + i * 230}" y="24">${t === 'gateway' ? 'this gateway' : 'minimal uWS server, same protocol'}</text>`,
    )
    .join('');
  const caption = [
    ...wrap(file.command, 120),
    `${file.date.slice(0, 16).replace('T', ' ')} UTC · Node ${file.node} · ${file.cpus} CPUs, load average ${file.loadavg.start[0]?.toFixed(1)} at start · median and min–max over repeats · dashed: delivered = offered`,
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11" fill="#212529">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    legend,
    ...panels,
    ...caption.map((line, i) => `<text x="${width / 2}" y="${height - 10 - (caption.length - 1 - i) * 14}" text-anchor="middle" fill="#868e96">${esc(line)}</text>`),
    '</svg>',
    '',
  ].join('\n');
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'docs/bench-ws.svg' } } });
  const input =
    positionals[0] ??
    (() => {
      const files = readdirSync('bench/results')
        .filter((f) => /^ws-.*\.json$/.test(f))
        .sort();
      if (!files.length) throw new Error('no bench/results/ws-*.json: run npm run bench:ws first, or name a file');
      return `bench/results/${files[files.length - 1]}`;
    })();
  const file = JSON.parse(readFileSync(input, 'utf8')) as BenchFile;
  writeFileSync(values.out, chart(file));
  console.log(`${markdown(file)}\n\n${values.out} from ${input}`);
}
