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
import type { EventLog, Retention } from '../eventlog/index.js';
import { numberAndPublish } from './number.js';
import { eventsFromWrite } from './from-write.js';
import { isPermanentFailure } from './permanent.js';
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
  /** Numbering, the log and version order across replicas. */
  eventLog: EventLog;
  /** The upstream's FHIR base URL, to read its Location headers. */
  upstreamBase: string;
  /** Events handled at once per replica; more wait in line. */
  concurrency?: number;
  /** How long a replica may hold an event it is processing before another may take it over. */
  leaseMs?: number;
  /** When set, proxied writes go to this stream (EVENTS_STREAM), held until stored. */
  stream?: { name: string; maxLen: number } | undefined;
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
/** How long a proxied write's response waits for its events to be stored in the stream. */
const STORE_BUDGET_MS = 5000;
const STORE_DELAYS_MS = [100, 250, 500, 1000, 1500, 2000];
const DEFAULT_LEASE_MS = 30_000;
/** The claim value of an event whose work is done (numbered and published, or nothing to do). */
const DONE = 'done';

/** Where an event came from: the durable stream, the at-most-once channel, the catch-up. */
export type Source = 'stream' | 'channel' | 'catchup';

/**
 * What became of an event. Final outcomes need nothing more (a stream entry with one is
 * acknowledged); 'failed' (retries exhausted), 'busy' (another replica holds it) and 'closed'
 * leave it to be tried again.
 */
export type Outcome = 'matched' | 'unmatched' | 'gone' | 'duplicate' | 'rejected' | 'failed' | 'busy' | 'closed';
export const FINAL_OUTCOMES: ReadonlySet<Outcome> = new Set(['matched', 'unmatched', 'gone', 'duplicate', 'rejected']);

/**
 * ingest → claim → match → number → publish. Several sources may report one resource version
 * (every replica hears the channel; the stream, a reclaim and the catch-up can repeat it): the
 * claim (`ingest:<eventId>`) makes one replica do the work. The claim is first a lease (leaseMs,
 * renewed on each retry), so a replica that dies mid-event leaves it to be taken over once the
 * lease has run out, and becomes "done" (kept for the event log's age) only after the event was
 * numbered and its delivery message published. Versions of one resource are processed in the
 * order they arrive.
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
    const receive = (message: string) => void this.submit(message, 'channel');
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

  /**
   * A write the proxy forwarded. With a stream its events are added to it, and the returned
   * promise (the proxy holds the client's response until it settles) resolves once they are
   * stored or the retry budget is spent; without one they go out on the channel, unawaited.
   */
  fromProxy(write: SeenWrite): Promise<void> | undefined {
    let events;
    try {
      events = eventsFromWrite({ ...write, upstreamBase: this.opts.upstreamBase }, this.opts.version);
    } catch (err) {
      this.opts.logger.warn({ err, path: write.path }, 'could not derive events from a proxied write');
      return undefined;
    }
    const stream = this.opts.stream;
    if (stream) return Promise.all(events.map((event) => this.store(stream, event))).then(() => undefined);
    for (const event of events) {
      this.publish(event).catch((err: unknown) => this.opts.logger.error({ err, path: write.path }, 'could not publish the event of a proxied write'));
    }
    return undefined;
  }

  /** XADD with retries for a brief outage; what still fails is logged, counted, and left to the catch-up. */
  private async store(stream: { name: string; maxLen: number }, event: { reference: string; versionId?: string | undefined }): Promise<void> {
    const deadline = Date.now() + STORE_BUDGET_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.engine.streamAdd(stream.name, { event: JSON.stringify(event) }, stream.maxLen);
        return;
      } catch (err) {
        const delay = STORE_DELAYS_MS[Math.min(attempt, STORE_DELAYS_MS.length - 1)]!;
        if (this.closed || Date.now() + delay > deadline) {
          this.opts.metrics.proxyEventsUnstored.inc();
          this.opts.logger.error({ err, reference: event.reference, versionId: event.versionId }, 'could not store the event of a proxied write in the events stream; the client got its answer');
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Resolves when every event received so far has been handled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.perResource.size > 0) await Promise.allSettled([...this.perResource.values()]);
  }

  /**
   * Takes one event (wire JSON, or the wire object) from a source; resolves with what became of
   * it once it was handled. Never rejects.
   */
  submit(message: string, source: Source): Promise<Outcome> {
    const { metrics } = this.opts;
    metrics.eventsReceived.inc();
    const result = validateEvent(message, { version: this.opts.version });
    if (!result.ok) {
      metrics.eventsRejected.inc({ reason: result.reason });
      this.reportBadEvent(result.reason, result.detail);
      return Promise.resolve('rejected');
    }
    const event = result.event;
    const previous = this.perResource.get(event.reference) ?? Promise.resolve();
    const next = previous.then(() => this.handle(event, source));
    const tail = next.then(() => undefined);
    this.perResource.set(event.reference, tail);
    void tail.finally(() => {
      if (this.perResource.get(event.reference) === tail) this.perResource.delete(event.reference);
    });
    return next;
  }

  private async handle(event: ResourceChangeEvent, source: Source): Promise<Outcome> {
    if (this.closed) return 'closed';
    // Announced before the claim, so whoever numbers a newer version of this resource waits for
    // this one (see src/eventlog/order.ts); withdrawn (in the finally below) once lost or done with.
    const log = this.opts.eventLog;
    await log.announce(event).catch((err: unknown) => this.opts.logger.warn({ err, event: event.eventId }, 'could not announce an event for version ordering'));
    const withdraw = () => log.withdraw(event).catch(() => undefined);
    await this.slot();
    const claim = new Claim(this.opts.engine, `ingest:${event.eventId}`, this.opts.leaseMs ?? DEFAULT_LEASE_MS);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.attempt(event, claim, source);
        } catch (err) {
          const delay = RETRY_DELAYS_MS[attempt];
          if (isPermanentFailure(err)) {
            this.opts.metrics.eventsRejected.inc({ reason: 'unprocessable' });
            this.opts.logger.error({ err, event: event.eventId }, 'event cannot be processed (a retry would fail the same way); dropped');
            // Final, like a rejection at validation: a stream entry is acknowledged, not retried.
            await claim.release();
            return 'rejected';
          }
          if (delay === undefined || this.closed) {
            this.opts.metrics.eventsProcessed.inc({ outcome: 'failed' });
            // A stream entry stays pending and is tried again after the reclaim idle time.
            this.opts.logger.error(
              { err, event: event.eventId, source },
              source === 'stream' ? 'event could not be processed after retries; left pending in the stream' : 'event could not be processed after retries; dropped',
            );
            await claim.release();
            return this.closed ? 'closed' : 'failed';
          }
          this.opts.logger.warn({ err, event: event.eventId, retryInMs: delay }, 'event processing failed; retrying');
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      await withdraw();
      this.release();
    }
  }

  /** One try: take (or keep) the claim, process, mark done. Throws for a retry. */
  private async attempt(event: ResourceChangeEvent, claim: Claim, source: Source): Promise<Outcome> {
    const state = await claim.take();
    if (state === 'done') {
      this.opts.metrics.eventsDuplicate.inc();
      return 'duplicate';
    }
    // Someone else is at it: the channel and the catch-up leave it to them; a stream entry stays
    // pending and comes back after the reclaim idle time, by when it is done or the lease is free.
    if (state === 'busy') {
      if (source !== 'stream') this.opts.metrics.eventsDuplicate.inc();
      return source === 'stream' ? 'busy' : 'duplicate';
    }
    const stop = this.opts.metrics.eventDuration.startTimer();
    const outcome = await this.process(event);
    stop();
    await claim.finish(this.opts.retention.maxAgeMs);
    this.opts.metrics.eventsProcessed.inc({ outcome });
    return outcome;
  }

  private async process(event: ResourceChangeEvent): Promise<'matched' | 'unmatched' | 'gone'> {
    if (this.closed) throw new Error('pipeline closed');
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
    const published = await numberAndPublish(this.opts.engine, this.opts.eventLog, event, matched);
    this.opts.logger.debug(
      {
        event: event.eventId,
        reference: event.reference,
        interaction: event.interaction,
        subscriptions: matched.length,
        numbers: published.matches.slice(0, 10).map(([id, n]) => `${id}#${n}`),
        tookMs: tookMs(),
      },
      'event matched',
    );
    this.opts.metrics.notificationsNumbered.inc(published.matches.length);
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

/** An event's claim as one replica sees it: a lease while it works, "done" for good after. */
class Claim {
  private held = false;

  constructor(
    private readonly engine: Engine,
    private readonly key: string,
    private readonly leaseMs: number,
  ) {}

  /** 'mine' (taken, or renewed on a retry), 'done' (already handled), 'busy' (another holds it). */
  async take(): Promise<'mine' | 'done' | 'busy'> {
    if (this.held) {
      // A retry: renew the lease; if it ran out meanwhile, take it again like anyone would.
      if (await this.engine.expire(this.key, this.leaseMs)) {
        if ((await this.engine.get(this.key)) === DONE) return 'done';
        return 'mine';
      }
      this.held = false;
    }
    if (await this.engine.claim(this.key, this.leaseMs)) {
      this.held = true;
      return 'mine';
    }
    return (await this.engine.get(this.key)) === DONE ? 'done' : 'busy';
  }

  /** Marks the event handled for `ttlMs`: every later report of it is a duplicate. */
  async finish(ttlMs: number): Promise<void> {
    await this.engine.set(this.key, DONE, { ttlMs });
  }

  /** Gives the lease up after a failure, so another try need not wait for it to run out. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.engine.del(this.key).catch(() => undefined);
  }
}
