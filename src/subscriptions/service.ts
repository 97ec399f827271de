import type { FhirVersion } from '../config.js';
import type { Engine, Unsubscribe } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { loadTopicDir } from '../topics/load.js';
import { TopicRegistry } from '../topics/registry.js';
import { fetchUpstreamTopics } from '../topics/upstream.js';
import type { UpstreamClient } from '../upstream/fhir-client.js';
import { SubscriptionRegistry } from './registry.js';
import { RegistrySync } from './sync.js';

export interface SubscriptionServiceOptions {
  engine: Engine;
  client: UpstreamClient;
  logger: Logger;
  fhirVersion: FhirVersion;
  topicsDir: string;
  resyncIntervalMs: number;
  knownResourceTypes?: ReadonlySet<string>;
}

const TOPICS_CHANGED = 'topics:changed';
const RESYNC_LOCK = 'lock:resync';
const EXPIRY_SWEEP_MS = 5000;

/**
 * Topics and the subscription registry, kept current: loaded at start, told about changes by
 * other replicas, and re-read from the upstream on an interval by one replica at a time.
 */
export class SubscriptionService {
  readonly topics: TopicRegistry;
  readonly registry: SubscriptionRegistry;
  private readonly sync: RegistrySync;
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: Unsubscribe | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: SubscriptionServiceOptions) {
    this.topics = new TopicRegistry(opts.logger);
    this.registry = new SubscriptionRegistry(opts.engine, opts.logger);
    this.sync = new RegistrySync({ ...opts, registry: this.registry, topics: this.topics });
  }

  async start(): Promise<void> {
    const { engine, logger } = this.opts;
    this.topics.replaceSource('config', loadTopicDir(this.opts.topicsDir, logger));
    await this.reloadUpstreamTopics();
    await this.registry.start();
    this.unsubscribe = await engine.subscribe(TOPICS_CHANGED, () => this.reloadUpstreamTopics());
    // Alone (memory) we always rebuild; with replicas, one rebuild per interval is enough and the
    // others load what it stored in the engine.
    if (engine.kind === 'memory' || (await engine.claim(RESYNC_LOCK, this.lockMs()))) {
      // An upstream that will not list Subscriptions (down, or the gateway lacks credentials) must
      // not keep the proxy down: say so loudly and try again at every interval.
      await this.sync.rebuild().catch((err: unknown) => logger.error({ err }, 'could not read Subscriptions from the upstream; serving what the engine holds and retrying every resync interval'));
    }
    logger.info({ topics: this.topics.all().length, subscriptions: this.registry.size }, 'subscriptions ready');
    this.timers.push(setInterval(() => void this.tick(), this.opts.resyncIntervalMs).unref());
    const sweep = () => void this.sync.sweepExpired().catch((err: unknown) => logger.warn({ err }, 'expiry sweep failed'));
    this.timers.push(setInterval(sweep, Math.min(EXPIRY_SWEEP_MS, this.opts.resyncIntervalMs)).unref());
  }

  /** After a write through the gateway that may have changed upstream topics: every replica reloads. */
  topicsWritten(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.opts.engine.publish(TOPICS_CHANGED, '').catch((err: unknown) => this.opts.logger.warn({ err }, 'could not announce a topic change'));
    }, 200).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.debounce);
    // Unsubscribing needs a live engine; if it is gone, closing the engine drops the subscriptions anyway.
    if (this.opts.engine.isReady()) await Promise.allSettled([this.unsubscribe?.(), this.registry.close()]);
  }

  private async tick(): Promise<void> {
    try {
      await this.reloadUpstreamTopics();
      if (!this.closed && (await this.opts.engine.claim(RESYNC_LOCK, this.lockMs()))) await this.sync.rebuild();
    } catch (err) {
      this.opts.logger.warn({ err }, 'periodic resync failed; retrying at the next interval');
    }
  }

  private async reloadUpstreamTopics(): Promise<void> {
    const topics = await fetchUpstreamTopics(this.opts.client, this.opts.fhirVersion, this.opts.logger);
    if (topics) this.topics.replaceSource('upstream', topics);
  }

  private lockMs(): number {
    return Math.max(500, Math.floor(this.opts.resyncIntervalMs * 0.8));
  }
}
