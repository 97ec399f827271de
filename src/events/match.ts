import type { FhirVersion } from '../config.js';
import { evaluateFilter, evaluateQuery, parseQuery, type FilterSpec, type Verdict } from '../fhir/search-eval/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ActiveSubscription, SubscriptionRegistry } from '../subscriptions/registry.js';
import { isLive } from '../subscriptions/sync.js';
import type { TopicRegistry } from '../topics/registry.js';
import type { Topic } from '../topics/topic.js';
import { IMPLICIT_TOPIC_PREFIX } from '../topics/topic.js';
import { implicitTopic, needsPrevious, topicFires } from '../topics/trigger.js';
import { SERVICE, type UpstreamClient } from '../upstream/fhir-client.js';
import type { ResourceChangeEvent } from './event.js';
import { filtersFor, SubscriptionIndex } from './subscription-index.js';

export const topicKey = (topic: Topic) => `${topic.url}|${topic.version ?? ''}`;

export interface MatcherDeps {
  version: FhirVersion;
  topics: TopicRegistry;
  registry: SubscriptionRegistry;
  client: UpstreamClient;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Which active subscriptions an event notifies: the topics whose triggers fire, then the
 * candidates the index gives for each, then every filter on each candidate. What memory cannot
 * decide is asked of the upstream, so the server's own search semantics decide.
 */
export class Matcher {
  readonly index: SubscriptionIndex;
  /** resource type → topics triggering on it (configured, upstream, and implicit ones in use). */
  private byType = new Map<string, Topic[]>();
  private readonly implicit = new Map<string, Topic>();

  constructor(private readonly deps: MatcherDeps) {
    this.index = new SubscriptionIndex(deps.version);
    deps.topics.onChange(() => this.rebuild());
    deps.registry.onChange((change) => {
      if (change.op === 'remove') this.index.remove(change.id);
      else this.place(change.model);
    });
    this.rebuild();
  }

  /** True when some topic on this type needs the version before an update (or delete). */
  needsPrevious(resourceType: string): boolean {
    return (this.byType.get(resourceType) ?? []).some((t) => needsPrevious(t, resourceType));
  }

  /** Whether any subscription could be interested in this type at all: skips fetching for the rest. */
  interested(resourceType: string): boolean {
    return (this.byType.get(resourceType) ?? []).some((t) => this.index.has(topicKey(t), resourceType));
  }

  /** The resource types some active subscription could be notified about (for the catch-up). */
  interestingTypes(): string[] {
    return [...this.byType.keys()].filter((type) => this.interested(type));
  }

  async match(event: ResourceChangeEvent): Promise<ActiveSubscription[]> {
    const { version } = this.deps;
    const focus = event.resource ?? event.previous;
    const queryEvaluator = (type: string, resource: Parameters<typeof evaluateQuery>[1], query: string): Verdict => {
      try {
        return evaluateQuery(version, resource, parseQuery(version, type, query));
      } catch {
        return 'undecidable';
      }
    };
    const matched: ActiveSubscription[] = [];
    for (const topic of this.byType.get(event.resourceType) ?? []) {
      const key = topicKey(topic);
      if (!this.index.has(key, event.resourceType)) continue;
      const fires = topicFires(version, topic, { interaction: event.interaction, resourceType: event.resourceType, current: event.resource, previous: event.previous }, queryEvaluator);
      if (fires !== true) {
        if (fires === 'undecidable') {
          this.deps.metrics.undecidable.inc({ what: 'trigger' });
          this.deps.logger.debug({ topic: topic.url, event: event.eventId }, 'topic trigger undecidable in memory; not fired');
        }
        continue;
      }
      for (const id of this.index.candidates(key, event.resourceType, focus)) {
        const sub = this.deps.registry.get(id);
        if (!sub || sub.status !== 'active' || !isLive(sub)) continue;
        if (await this.filtersPass(sub, event)) matched.push(sub);
      }
    }
    return matched;
  }

  private async filtersPass(sub: ActiveSubscription, event: ResourceChangeEvent): Promise<boolean> {
    const filters = filtersFor(sub, event.resourceType);
    if (filters.length === 0) return true;
    const focus = event.resource ?? event.previous;
    if (!focus) return false;
    const open: FilterSpec[] = [];
    for (const f of filters) {
      const spec: FilterSpec = { resourceType: event.resourceType, parameter: f.parameter, modifier: f.modifier, comparator: f.comparator, value: f.value };
      const verdict = evaluateFilter(this.deps.version, focus, spec);
      if (verdict === false) return false;
      if (verdict === 'undecidable') open.push(spec);
    }
    if (open.length === 0) return true;
    // A deleted resource can no longer be searched for at the upstream.
    if (event.interaction === 'delete') return false;
    return this.askUpstream(event, open);
  }

  private async askUpstream(event: ResourceChangeEvent, filters: FilterSpec[]): Promise<boolean> {
    this.deps.metrics.undecidable.inc({ what: 'filter' });
    const params = filters.map((f) => `${encodeURIComponent(f.parameter)}${f.modifier ? `:${encodeURIComponent(f.modifier)}` : ''}=${f.comparator ?? ''}${encodeURIComponent(f.value)}`);
    const query = `${event.resourceType}?_id=${encodeURIComponent(event.id)}&${params.join('&')}&_elements=id`;
    const res = await this.deps.client.request('GET', query, SERVICE);
    if (res.status !== 200) {
      this.deps.logger.warn({ status: res.status, query: `${event.resourceType}?${filters.map((f) => f.parameter).join('&')}` }, 'the upstream could not decide a subscription filter; not matched');
      return false;
    }
    const entries = (res.body as { entry?: Array<{ search?: { mode?: string } }> }).entry ?? [];
    return entries.some((e) => e.search?.mode !== 'include' && e.search?.mode !== 'outcome');
  }

  private place(sub: ActiveSubscription): void {
    const topic = this.resolve(sub.topic);
    if (!topic) {
      this.index.remove(sub.id);
      return;
    }
    // The index is keyed by the topic the subscription resolves to, so `url` and `url|version` meet.
    this.index.add({ ...sub, topic: topicKey(topic) }, [...new Set(topic.resourceTrigger.map((t) => t.resource))]);
    if (topic.source.kind === 'implicit') this.addToType(topic);
  }

  private resolve(canonical: string): Topic | undefined {
    if (!canonical.startsWith(IMPLICIT_TOPIC_PREFIX)) return this.deps.topics.get(canonical);
    const type = canonical.slice(IMPLICIT_TOPIC_PREFIX.length);
    let topic = this.implicit.get(type);
    if (!topic) this.implicit.set(type, (topic = implicitTopic(type)));
    return topic;
  }

  private rebuild(): void {
    this.byType = new Map();
    for (const topic of [...this.deps.topics.all(), ...this.implicit.values()]) this.addToType(topic);
    this.index.clear();
    for (const sub of this.deps.registry.all()) this.place(sub);
  }

  private addToType(topic: Topic): void {
    for (const type of new Set(topic.resourceTrigger.map((t) => t.resource))) {
      const list = this.byType.get(type) ?? [];
      if (!list.includes(topic)) list.push(topic);
      this.byType.set(type, list);
    }
  }
}
