import type { FhirVersion } from '../config.js';
import type { Engine, Unsubscribe } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SubscriptionRegistry } from '../subscriptions/registry.js';
import type { TopicRegistry } from '../topics/registry.js';
import type { UpstreamClient } from '../upstream/fhir-client.js';
import type { ResourceChangeEvent } from './event.js';
import { VersionFetcher } from './fetch.js';
import { Matcher } from './match.js';
import { numberAndPublish, type Retention } from './number.js';
import { eventsFromWrite } from './from-write.js';
import { validateEvent } from './validate.js';
import type { SeenWrite } from '../upstream/proxy.js';
import { receivedAt } from './received-at.js';

export interface PipelineOptions {
  engine: Engine;
  registry: SubscriptionRegistry;
  topics: TopicRegistry;
  client: UpstreamClient;
  version: FhirVersion;
  logger: Logger;
  metrics: Metrics;
  /** Exact (raw) channel name producers publish to; unset: DEFAULT_EVENTS_CHANNEL under the key prefix. */
  eventsChannel?: string | undefined;
  retention: Retention;
  /** The upstream's FHIR base URL, to read its Location headers. */
  upstreamBase: string;
  /** Events handled at once per replica; more wait in line. */
  concurrency?: number;
}

/**
 * The producers' channel when EVENTS_CHANNEL is unset, under the engine's key prefix
 * (`fsg:fhir:resource-changes` by default): two deployments with different REDIS_KEY_PREFIX on one
 * Redis never hear each other's producers.
 */
export const DEFAULT_EVENTS_CHANNEL = 'fhir:resource-changes';
/** The proxy's own writes: always under the key prefix, so they reach this deployment only. */
const PROXIED_CHANNEL = 'events:proxied';

const RETRY_DELAYS_MS = [250, 1000, 4000, 15000, 60000];

/**
 * ingest → claim → match → number → publish. Every replica receives every event; the one that
 * claims its id does the work, so each resource version is processed once however many sources
 * report it. Versions of one resource are processed in the order they arrive.
 */
export class EventPipeline {
  readonly matcher: Matcher;
  private readonly fetcher: VersionFetcher;
  private readonly unsubscribes: Unsubscribe[] = [];
  private readonly perResource = new Map<string, Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private readonly reported = new Map<string, number>();
  private closed = false;

  constructor(private readonly opts: PipelineOptions) {
    this.matcher = new Matcher({ version: opts.version, topics: opts.topics, registry: opts.registry, client: opts.client, logger: opts.logger, metrics: opts.metrics });
    this.fetcher = new VersionFetcher(opts.client);
  }

  async start(): Promise<void> {
    const { engine, eventsChannel } = this.opts;
    const receive = (message: string) => this.receive(message);
    this.unsubscribes.push(await engine.subscribe(eventsChannel ?? DEFAULT_EVENTS_CHANNEL, receive, { raw: eventsChannel !== undefined }));
    this.unsubscribes.push(await engine.subscribe(PROXIED_CHANNEL, receive));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.opts.engine.isReady()) await Promise.all(this.unsubscribes.map((u) => u().catch(() => undefined)));
    await Promise.allSettled([...this.perResource.values()]);
  }

  /** For producers inside the process (the proxy): the same path as a PUBLISH, on this deployment's own channel. */
  publish(wireEvent: object): Promise<void> {
    return this.opts.engine.publish(PROXIED_CHANNEL, JSON.stringify(wireEvent));
  }

  /** A write the proxy forwarded: its events go out on the channel like any producer's. */
  fromProxy(write: SeenWrite): void {
    let events;
    try {
      events = eventsFromWrite({ ...write, upstreamBase: this.opts.upstreamBase }, this.opts.version);
    } catch (err) {
      this.opts.logger.warn({ err, path: write.path }, 'could not derive events from a proxied write');
      return;
    }
    for (const event of events) {
      this.publish(event).catch((err: unknown) => this.opts.logger.error({ err, path: write.path }, 'could not publish the event of a proxied write'));
    }
  }

  /** Resolves when every event received so far has been handled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.perResource.size > 0) await Promise.allSettled([...this.perResource.values()]);
  }

  private receive(message: string): void {
    const { metrics } = this.opts;
    metrics.eventsReceived.inc();
    const result = validateEvent(message, { version: this.opts.version });
    if (!result.ok) {
      metrics.eventsRejected.inc({ reason: result.reason });
      this.reportBadEvent(result.reason, result.detail);
      return;
    }
    const event = result.event;
    const previous = this.perResource.get(event.reference) ?? Promise.resolve();
    const next = previous.then(() => this.handle(event));
    this.perResource.set(event.reference, next);
    void next.finally(() => {
      if (this.perResource.get(event.reference) === next) this.perResource.delete(event.reference);
    });
  }

  private async handle(event: ResourceChangeEvent): Promise<void> {
    if (this.closed) return;
    const claimed = await this.opts.engine.claim(`claim:${event.eventId}`, this.opts.retention.maxAgeMs).catch((err: unknown) => {
      this.opts.logger.error({ err, event: event.eventId }, 'could not claim an event; dropped');
      return false;
    });
    if (!claimed) {
      this.opts.metrics.eventsDuplicate.inc();
      return;
    }
    await this.slot();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const stop = this.opts.metrics.eventDuration.startTimer();
          const outcome = await this.process(event);
          stop();
          this.opts.metrics.eventsProcessed.inc({ outcome });
          return;
        } catch (err) {
          const delay = RETRY_DELAYS_MS[attempt];
          if (delay === undefined || this.closed) {
            this.opts.metrics.eventsProcessed.inc({ outcome: 'failed' });
            this.opts.logger.error({ err, event: event.eventId }, 'event could not be processed after retries; dropped');
            return;
          }
          this.opts.logger.warn({ err, event: event.eventId, retryInMs: delay }, 'event processing failed; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.release();
    }
  }

  private async process(event: ResourceChangeEvent): Promise<'matched' | 'unmatched' | 'gone'> {
    const { matcher } = this;
    if (!matcher.interested(event.resourceType)) return 'unmatched';
    if (event.interaction !== 'delete' && !event.resource) {
      event.resource = await this.fetcher.current(event);
      if (!event.resource) {
        this.opts.logger.info({ event: event.eventId }, 'the resource of an event is no longer at the upstream; skipped');
        return 'gone';
      }
    }
    // A delete's filters are checked on the last version; an update's previous only when a topic asks.
    if (!event.previous && (event.interaction === 'delete' || (event.interaction === 'update' && matcher.needsPrevious(event.resourceType)))) {
      event.previous = await this.fetcher.previous(event);
    }
    const matched = await matcher.match(event);
    // How long since this replica received the event: fetching, matching and (below) numbering.
    const since = receivedAt(event);
    const tookMs = () => (since === undefined ? undefined : Date.now() - since);
    if (matched.length === 0) {
      this.opts.logger.debug({ event: event.eventId, reference: event.reference, interaction: event.interaction, tookMs: tookMs() }, 'event matched no subscription');
      return 'unmatched';
    }
    const published = await numberAndPublish(this.opts.engine, event, matched, this.opts.retention);
    this.opts.logger.debug({ event: event.eventId, reference: event.reference, interaction: event.interaction, subscriptions: matched.length, numbers: published.matches.slice(0, 10).map(([id, n]) => `${id}#${n}`), tookMs: tookMs() }, 'event matched');
    this.opts.metrics.notificationsNumbered.inc(matched.length);
    return 'matched';
  }

  private slot(): Promise<void> {
    if (this.running < (this.opts.concurrency ?? 32)) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => resolve()));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  /** One log line per reason per minute: a misbehaving producer must not flood the logs. */
  private reportBadEvent(reason: string, detail: string): void {
    const now = Date.now();
    if ((this.reported.get(reason) ?? 0) > now - 60_000) return;
    this.reported.set(reason, now);
    this.opts.logger.warn({ reason, detail }, 'bad resource-change event dropped (further ones with this reason are counted, not logged, for a minute)');
  }
}
