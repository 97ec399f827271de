// The topics the gateway honours, from its config directory and from the upstream, held in memory.
// Loading is elsewhere (load.ts, upstream.ts); this only merges, indexes and announces changes.
import type { Logger } from '../log.js';
import { canonicalOf, compareVersions, splitCanonical } from './canonical.js';
import type { Topic, TopicLookup, TopicSource } from './topic.js';

export type TopicSourceKind = 'config' | 'upstream';
export type RegistryLogger = Pick<Logger, 'warn' | 'error'>;
export type TopicsListener = (registry: TopicRegistry) => void;

// Config comes first: an operator's file is the deliberate choice when both define url+version.
const PRECEDENCE: readonly TopicSourceKind[] = ['config', 'upstream'];

export class TopicRegistry implements TopicLookup {
  private readonly sources: Record<TopicSourceKind, readonly Topic[]> = { config: [], upstream: [] };
  private effective: readonly Topic[] = [];
  private byCanonical = new Map<string, Topic>();
  /** Per url, newest version first. */
  private byUrl = new Map<string, Topic[]>();
  private byId = new Map<string, Topic>();
  private fingerprint = '[]';
  // Remembered so a conflict is logged when it appears, not at every upstream resync.
  private reported = new Set<string>();
  private readonly listeners = new Set<TopicsListener>();

  constructor(private readonly logger?: RegistryLogger) {}

  replaceSource(kind: TopicSourceKind, topics: readonly Topic[]): void {
    this.sources[kind] = [...topics];
    this.rebuild();
  }

  /** `url` gives the newest version (or the only one); `url|version` exactly that version. */
  get(canonical: string): Topic | undefined {
    const { url, version } = splitCanonical(canonical);
    return version === undefined ? this.byUrl.get(url)?.[0] : this.byCanonical.get(canonicalOf({ url, version }));
  }

  /** The topic SubscriptionTopic/[id] reads serve. */
  getById(id: string): Topic | undefined {
    return this.byId.get(id);
  }

  /** Every topic in effect: config topics first, in their load order, then the upstream's. */
  all(): readonly Topic[] {
    return this.effective;
  }

  /** Each topic url once, for the CapabilityStatement's topic-canonical extensions. */
  urls(): string[] {
    return [...this.byUrl.keys()];
  }

  /** Called after a replaceSource that changed the topics in effect; returns an unsubscribe function. */
  onChange(listener: TopicsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    const byCanonical = new Map<string, Topic>();
    const byId = new Map<string, Topic>();
    const reported = new Set<string>();
    const effective: Topic[] = [];
    for (const kind of PRECEDENCE) {
      for (const topic of this.sources[kind]) {
        const key = canonicalOf(topic);
        const kept = byCanonical.get(key);
        if (kept !== undefined) {
          this.report(
            reported,
            `canonical ${key} ${describe(topic.source)}`,
            { topic: key, ignored: describe(topic.source), kept: describe(kept.source) },
            'two topics have the same url and version; the first is used',
          );
          continue;
        }
        byCanonical.set(key, topic);
        effective.push(topic);
        const sameId = byId.get(topic.id);
        if (sameId === undefined) byId.set(topic.id, topic);
        else this.report(reported, `id ${topic.id} ${key}`, { id: topic.id, topic: key, readAs: canonicalOf(sameId) }, 'two topics have the same id; reads by id return the first');
      }
    }
    this.reported = reported;

    const byUrl = new Map<string, Topic[]>();
    for (const topic of effective) {
      const versions = byUrl.get(topic.url);
      if (versions === undefined) byUrl.set(topic.url, [topic]);
      else versions.push(topic);
    }
    // Stable sort: among equal versions and dates the earlier (config) topic stays first.
    for (const versions of byUrl.values()) versions.sort((a, b) => compareVersions(b.version, a.version) || compareDates(b.date, a.date));

    this.effective = effective;
    this.byCanonical = byCanonical;
    this.byUrl = byUrl;
    this.byId = byId;

    const fingerprint = JSON.stringify(effective);
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    for (const listener of [...this.listeners]) {
      try {
        listener(this);
      } catch (err) {
        this.logger?.error({ err }, 'a topic change listener failed');
      }
    }
  }

  private report(now: Set<string>, key: string, fields: object, msg: string): void {
    now.add(key);
    if (!this.reported.has(key)) this.logger?.warn(fields, msg);
  }
}

function describe(source: TopicSource): string {
  switch (source.kind) {
    case 'config':
      return `config file ${source.file}`;
    case 'upstream':
      return `upstream ${source.reference}`;
    case 'implicit':
      return 'implicit';
  }
}

const compareDates = (a: string | undefined, b: string | undefined): number => (a === b ? 0 : a === undefined ? -1 : b === undefined ? 1 : a < b ? -1 : 1);
