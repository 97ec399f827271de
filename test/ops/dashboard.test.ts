import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient } from '../support/ws-client.js';
import { selectorsOf } from './promql.js';

interface Panel {
  title: string;
  type: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ query: { query: string } | string }> };
}

// Prometheus adds these at scrape time; histograms carry `le` on their buckets.
const SCRAPE_LABELS = new Set(['job', 'instance']);

interface Family {
  type: string;
  labels: Set<string>;
}

/** The metric families of a Prometheus text exposition, with the label names their samples carry. */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) out.set(type[1]!, { type: type[2]!, labels: new Set() });
  }
  for (const line of text.split('\n')) {
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!sample) continue;
    const family = out.get(sample[1]!) ?? out.get(sample[1]!.replace(/_(bucket|sum|count)$/, ''));
    for (const m of (sample[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) family?.labels.add(m[1]!);
  }
  return out;
}

function familyOf(all: Map<string, Family>, metric: string): { name: string; family: Family; part?: string } | undefined {
  const direct = all.get(metric);
  if (direct) return { name: metric, family: direct };
  const m = /^(.*)_(bucket|sum|count)$/.exec(metric);
  const base = m ? all.get(m[1]!) : undefined;
  return base && (base.type === 'histogram' || base.type === 'summary') ? { name: m![1]!, family: base, part: m![2] } : undefined;
}

describe('Grafana dashboard (dashboards/grafana.json)', () => {
  const dashboard = JSON.parse(readFileSync('dashboards/grafana.json', 'utf8')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  let upstream: DemoUpstream;
  let gateway: Gateway;
  let exposition: Map<string, Family>;

  before(async function () {
    this.timeout(60_000);
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', UPSTREAM_TIMEOUT_MS: '2000' });
    // Traffic that makes every labelled series appear: a bound subscription and a notification,
    // a refused token, a bad event, and an upstream that has gone away.
    const created = await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription());
    const token = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('POST', `${gateway.baseUrl}/Subscription/${created.body.id}/$get-ws-binding-token`);
    const ws = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
    ws.send(`bind-with-token ${token.body.parameter.find((p) => p.name === 'token')!.valueString}`);
    await ws.next((f) => f.resourceType === 'Bundle', 'the handshake');
    await fhir('POST', `${gateway.baseUrl}/Encounter`, { resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' }, subject: { reference: 'Patient/1' } });
    await ws.next((f) => JSON.stringify(f).includes('"event-notification"'), 'the notification');
    ws.send('bind-with-token not-a-real-token');
    await until(() => gateway.metrics.websocketRejected.get().then((m) => m.values.length > 0), 'the refused token to be counted');
    ws.close();
    await gateway.engine.publish('fhir:resource-changes', 'not json', { raw: true });
    await until(() => gateway.metrics.eventsRejected.get().then((m) => m.values.length > 0), 'the bad event to be counted');
    await upstream.close();
    await fhir('GET', `${gateway.baseUrl}/Patient`);
    const res = await request(`http://127.0.0.1:${gateway.port}/metrics`);
    exposition = families(await res.body.text());
  });
  after(async () => {
    await gateway?.close();
  });

  it('has panels for connections, bindings, events in/matched/rejected, notifications/s, p99 event→frame, upstream errors and Redis health', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    for (const metric of [
      'fsg_websocket_connections',
      'fsg_websocket_bindings',
      'fsg_events_received_total',
      'fsg_events_processed_total',
      'fsg_events_rejected_total',
      'fsg_notifications_sent_total',
      'fsg_event_to_frame_seconds_bucket',
      'fsg_upstream_errors_total',
      'fsg_engine_ready',
    ]) {
      expect(all, metric).to.contain(metric);
    }
    expect(all).to.contain('histogram_quantile(0.99, sum by (le) (rate(fsg_event_to_frame_seconds_bucket');
    expect(exprs.length).to.be.greaterThan(20);
  });

  it('queries only series that exist on /metrics of a running gateway, with the labels they carry', () => {
    const problems: string[] = [];
    for (const { panel, expr } of exprs) {
      const uses = selectorsOf(expr);
      if (uses.length === 0) problems.push(`${panel}: no metric found in ${expr}`);
      for (const use of uses) {
        const found = familyOf(exposition, use.metric);
        if (!found) {
          problems.push(`${panel}: ${use.metric} is not on /metrics`);
          continue;
        }
        if (/\brate\(/.test(expr) && !(found.family.type === 'counter' || found.part)) problems.push(`${panel}: rate() of ${use.metric}, a ${found.family.type}`);
        if (/histogram_quantile/.test(expr) && found.part !== 'bucket') problems.push(`${panel}: histogram_quantile over ${use.metric}, not a histogram's buckets`);
        for (const label of use.labels) {
          if (SCRAPE_LABELS.has(label) || (label === 'le' && found.part === 'bucket')) continue;
          if (!found.family.labels.has(label)) problems.push(`${panel}: ${found.name} has no label ${label}`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('reads the notification it delivered in the event→frame histogram', () => {
    const family = exposition.get('fsg_event_to_frame_seconds');
    expect(family?.type).to.equal('histogram');
    return gateway.metrics.eventToFrame.get().then((m) => {
      const count = m.values.find((v) => v.metricName === 'fsg_event_to_frame_seconds_count');
      expect(count?.value).to.equal(1);
    });
  });

  it('is read by the PromQL reader the way Prometheus would', () => {
    expect(selectorsOf('sum by (reason) (rate(fsg_events_rejected_total{job=~"$job",reason!="x"}[$__rate_interval]))')).to.deep.equal([
      { metric: 'fsg_events_rejected_total', labels: ['job', 'reason'] },
    ]);
    expect(selectorsOf('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket[5m]))) / on (route) b')).to.deep.equal([
      { metric: 'a_bucket', labels: ['le', 'route'] },
      { metric: 'b', labels: ['le', 'route'] },
    ]);
  });
});
