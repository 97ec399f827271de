import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Engine, StreamEntry } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { FINAL_OUTCOMES, type Outcome } from './pipeline.js';

export interface StreamInputOptions {
  engine: Engine;
  /** EVENTS_STREAM, as producers name it. */
  stream: string;
  /** One consumer group per deployment: every replica reads as one consumer of it. */
  group: string;
  /** An entry pending this long (its replica died or is stuck) is taken over by another. */
  reclaimIdleMs: number;
  /** Entries older than this are trimmed from the stream (the length bound is applied on add). */
  maxAgeMs: number;
  submit(message: string): Promise<Outcome>;
  logger: Logger;
  metrics: Metrics;
}

const READ_COUNT = 100;
const BLOCK_MS = 2000;
/** Entries read but not yet settled; reading pauses above it so a backlog is not all in memory. */
const MAX_IN_FLIGHT = 1000;
const TRIM_EVERY_MS = 60_000;
const BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/**
 * The durable input: XREADGROUP as this replica's consumer, feed each entry's `event` field to the
 * pipeline, XACK it once the pipeline's outcome is final (numbered and published, or nothing to
 * do). What is not acknowledged stays pending and is reclaimed (XAUTOCLAIM) after reclaimIdleMs,
 * by this replica or another: a replica that dies holding entries loses none of them.
 */
export class StreamInput {
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private closed = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private acks: string[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private reclaimTimer: NodeJS.Timeout | undefined;
  private lastTrim = 0;

  constructor(private readonly opts: StreamInputOptions) {}

  async start(): Promise<void> {
    const { engine, stream, group } = this.opts;
    await engine.streamEnsureGroup(stream, group);
    void this.readLoop();
    const every = Math.max(250, Math.floor(this.opts.reclaimIdleMs / 2));
    this.reclaimTimer = setInterval(() => void this.reclaim(), every);
    this.reclaimTimer.unref();
    this.opts.logger.info({ stream, group, consumer: this.consumer, reclaimIdleMs: this.opts.reclaimIdleMs }, 'reading the events stream');
  }

  /**
   * Stops reading and sends the acknowledgements due. A read still blocked ends when the engine
   * closes; what it returns is not processed and stays pending, for another replica to reclaim.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reclaimTimer);
    this.drained?.();
    await this.flush();
  }

  private async readLoop(): Promise<void> {
    const { engine, stream, group } = this.opts;
    let failures = 0;
    while (!this.closed) {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        await new Promise<void>((resolve) => (this.drained = resolve));
        continue;
      }
      try {
        const entries = await engine.streamRead(stream, group, this.consumer, { count: READ_COUNT, blockMs: BLOCK_MS });
        if (failures > 0) this.opts.logger.info({ stream }, 'reading the events stream again');
        failures = 0;
        this.opts.metrics.streamEntries.inc({ how: 'read' }, entries.length);
        if (this.closed) return;
        for (const entry of entries) this.take(entry);
      } catch (err) {
        if (this.closed) return;
        if (failures === 0) this.opts.logger.warn({ err, stream }, 'could not read the events stream; retrying');
        const delay = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Entries left pending by a consumer that stopped (or by this one, stuck) come back here. */
  private async reclaim(): Promise<void> {
    if (this.closed) return;
    const { engine, stream, group, reclaimIdleMs } = this.opts;
    try {
      const entries = await engine.streamClaimIdle(stream, group, this.consumer, reclaimIdleMs, READ_COUNT);
      if (entries.length > 0) {
        this.opts.logger.info({ stream, entries: entries.length }, 'took over events stream entries another consumer left pending');
        this.opts.metrics.streamEntries.inc({ how: 'reclaimed' }, entries.length);
      }
      for (const entry of entries) this.take(entry);
      if (Date.now() - this.lastTrim > TRIM_EVERY_MS) {
        this.lastTrim = Date.now();
        await engine.streamTrim(stream, this.opts.maxAgeMs);
      }
    } catch (err) {
      this.opts.logger.debug({ err, stream }, 'could not reclaim events stream entries; next round');
    }
  }

  private take(entry: StreamEntry): void {
    const message = entry.fields.event;
    if (message === undefined) {
      // Nothing to process, ever: acknowledge so it does not come back.
      this.opts.metrics.eventsRejected.inc({ reason: 'no-event-field' });
      this.opts.logger.warn({ stream: this.opts.stream, entry: entry.id, fields: Object.keys(entry.fields) }, "events stream entry without an 'event' field; acknowledged and skipped");
      this.ack(entry.id);
      return;
    }
    this.inFlight++;
    void this.opts.submit(message).then((outcome) => {
      if (FINAL_OUTCOMES.has(outcome)) this.ack(entry.id);
      if (--this.inFlight < MAX_IN_FLIGHT / 2 && this.drained) {
        const resume = this.drained;
        this.drained = undefined;
        resume();
      }
    });
  }

  /** Acknowledgements go out together, one XACK per turn of the event loop. */
  private ack(id: string): void {
    this.acks.push(id);
    this.flushing ??= setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushing = undefined;
    const ids = this.acks;
    this.acks = [];
    if (ids.length === 0) return;
    try {
      await this.opts.engine.streamAck(this.opts.stream, this.opts.group, ids);
      this.opts.metrics.streamEntries.inc({ how: 'acked' }, ids.length);
    } catch (err) {
      // They stay pending, come back after the idle time, and are acknowledged then as duplicates.
      this.opts.logger.warn({ err, entries: ids.length }, 'could not acknowledge events stream entries; they will be reclaimed and skipped as duplicates');
    }
  }
}
