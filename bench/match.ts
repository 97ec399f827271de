// Matching cost per event as the number of subscriptions grows: 1,000 vs 100,000 subscriptions,
// each filtered on a distinct patient. The index makes the cost follow the matches, not the total.
// Run: npm run bench
import { MemoryEngine } from '../src/engine/memory.js';
import type { ResourceChangeEvent } from '../src/events/event.js';
import { Matcher } from '../src/events/match.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { SubscriptionRegistry } from '../src/subscriptions/registry.js';
import { loadTopicDir } from '../src/topics/load.js';
import { TopicRegistry } from '../src/topics/registry.js';
import type { UpstreamClient } from '../src/upstream/fhir-client.js';

const TOPIC = 'http://fhir-subscription-gateway.dev/SubscriptionTopic/encounter-admission';
const EVENTS = 20_000;
const logger = createLogger('silent');

function event(i: number, patient: number): ResourceChangeEvent {
  return {
    eventId: `Encounter/e${i}/_history/1:create`,
    interaction: 'create',
    reference: `Encounter/e${i}`,
    resourceType: 'Encounter',
    id: `e${i}`,
    versionId: '1',
    timestamp: new Date().toISOString(),
    resource: { resourceType: 'Encounter', id: `e${i}`, meta: { versionId: '1' }, status: 'in-progress', class: { code: 'IMP' }, subject: { reference: `Patient/p${patient}` } },
  };
}

async function run(subscriptions: number): Promise<{ usPerEvent: number; matchedPerEvent: number; heapMb: number; buildMs: number }> {
  const engine = new MemoryEngine(logger);
  await engine.start();
  const topics = new TopicRegistry(logger);
  topics.replaceSource('config', loadTopicDir('config/topics', logger));
  const registry = new SubscriptionRegistry(engine, logger);
  await registry.start();
  // The benchmark never delegates to the upstream: every filter here is decided in memory.
  const matcher = new Matcher({ version: 'R4', topics, registry, client: {} as UpstreamClient, logger, metrics: new Metrics() });
  const t0 = performance.now();
  for (let i = 0; i < subscriptions; i++) {
    await registry.upsert({
      id: `s${i}`,
      status: 'active',
      topic: TOPIC,
      filters: [{ resourceType: 'Encounter', parameter: 'patient', value: `Patient/p${i}` }],
      channelType: 'websocket',
      content: 'id-only',
      contentType: 'application/fhir+json',
      notificationVersion: 'R4',
    });
  }
  const buildMs = performance.now() - t0;
  const events = Array.from({ length: EVENTS }, (_, i) => event(i, Math.floor(Math.random() * subscriptions)));
  for (const e of events.slice(0, 2000)) await matcher.match(e); // warm up the JIT and caches
  let matched = 0;
  const start = process.hrtime.bigint();
  for (const e of events) matched += (await matcher.match(e)).length;
  const ns = Number(process.hrtime.bigint() - start);
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
  await engine.close();
  return { usPerEvent: ns / EVENTS / 1000, matchedPerEvent: matched / EVENTS, heapMb, buildMs };
}

const rows = [];
for (const n of [1_000, 100_000]) {
  const r = await run(n);
  rows.push({
    subscriptions: n.toLocaleString('en'),
    'µs per event': r.usPerEvent.toFixed(1),
    'matches per event': r.matchedPerEvent.toFixed(2),
    'heap MB': r.heapMb.toFixed(0),
    'index build s': (r.buildMs / 1000).toFixed(1),
  });
}
console.log(`matching ${EVENTS.toLocaleString('en')} Encounter create events (admission topic, one patient filter per subscription), node ${process.version}`);
console.table(rows);
