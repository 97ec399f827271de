// The event log: numbering, the log, and the reads of it. Nothing else builds its keys or reads
// its entries; the pipeline numbers through number(), the WebSocket channel and the FHIR
// operations read through position() and read().
//
// Shape. Subscriptions with the same topic and filters match the same events, so they share one
// numbered stream (stream-id.ts): one counter, one log, one entry per event however many
// subscriptions share it. A subscription's number for an entry is the entry's seq minus the
// subscription's base, fixed when it joined the stream so that its numbers continue its own
// (membership.ts); a subscription whose filters change, or that is turned off and on again,
// joins anew and its numbers go on from where they were. The event's body (its resource) is
// stored once per event beside the logs.
//
// Guarantees.
// - Atomic: one stream's append (counter, log entry, trimming, the id → number memory) is one
//   step; so are a join and a leave (membership and counter read together). A breadth event costs
//   a constant number of commands (the epoch check, the order check, the body) and one step per
//   distinct stream it matched, not per subscription; trimming by count and age is O(1) amortised
//   per append. A subscription joins a stream once (its first event there), not per event.
// - Idempotent per event id: appending an event a stream already holds returns the number it got
//   (the id is remembered for the retention age). A retry, a reclaimed stream entry or a second
//   replica processing the same event gets the numbers it already had, never new ones, and
//   republishing them is harmless (receivers drop numbers they have sent).
// - A crash between steps: after the body is stored but before the append, nothing is numbered
//   (the retry numbers it). After some streams' appends but not others', the retry numbers the
//   rest and returns the same numbers for the done ones. After the append but before the delivery
//   message is published, the event is in the log (replay and $events show it) and the retry
//   republishes the same numbers. Between a stream's membership step and the subscription's
//   record, the next join or leave completes the record (both steps are idempotent).
// - Epoch (epoch.ts): the engine's numbering state is an epoch; a replica checks it before every
//   numbering step and every second. If it is gone (Redis came back empty) a new epoch starts
//   above every number handed out, listeners are told (bound sockets get a frame) and the
//   positions of the subscriptions active then report `lostBefore`; no number is ever reused for
//   a different event.
// - Order (order.ts): versions of one resource are numbered in the order of their timestamps,
//   whichever replicas process them.
// - Retention: a log keeps at most maxLen entries, none older than maxAgeMs; a stored body lives
//   maxAgeMs. A subscription's count survives trimming; reads say which numbers are still kept.
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { ActiveSubscription, SubscriptionRegistry } from '../subscriptions/registry.js';
import { encodeEntry, type EventRecord, type LoggedEvent, type LoggedResource } from './entry.js';
import { EpochKeeper, type Epoch, type EpochListener } from './epoch.js';
import { appendIdKey, bodyKey, streamKeys } from './keys.js';
import { Memberships } from './membership.js';
import { VersionOrder } from './order.js';
import { positionOf, readRange, type Position } from './reads.js';
import { streamIdOf } from './stream-id.js';

export interface Retention {
  maxLen: number;
  maxAgeMs: number;
}

export interface EventLogOptions {
  engine: Engine;
  logger: Logger;
  registry: SubscriptionRegistry;
  retention: Retention;
  /** Whether the upstream holds no Subscription at all: only then may a first epoch start at 0. */
  noSubscriptionsYet: () => Promise<boolean>;
  /** How often a replica checks the epoch while it numbers nothing (default 1 s). */
  epochCheckMs?: number;
}

/** An event to number: what the pipeline has once it matched. */
export interface LogInput extends LoggedEvent {
  resource?: LoggedResource;
}

export interface LogPage extends Position {
  /** The lowest number still kept, or null when none is. */
  firstKept: number | null;
  events: EventRecord[];
}

interface CachedMembership {
  stream: string;
  base: number;
  joinSeq: number;
}

export class EventLog {
  private readonly epochs: EpochKeeper;
  private readonly members: Memberships;
  private readonly order: VersionOrder;
  /** Subscription → its membership, as this replica last confirmed it. */
  private readonly joined = new Map<string, CachedMembership>();
  /** Stream → the membership generation the cache above reflects. */
  private readonly gens = new Map<string, number>();
  private highest = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: EventLogOptions) {
    this.members = new Memberships(opts.engine);
    this.epochs = new EpochKeeper({
      engine: opts.engine,
      logger: opts.logger,
      pristine: opts.noSubscriptionsYet,
      highestSeen: () => this.highest,
      // Only what was active then lost events; a subscription created later did not.
      beforeLossEpoch: (next) =>
        this.members.markLost(
          [...opts.registry.all()].map((s) => s.id),
          next,
        ),
    });
    this.order = new VersionOrder(opts.engine, opts.logger);
    this.epochs.onChange(() => {
      this.joined.clear();
      this.gens.clear();
    });
  }

  /** After the registry has loaded (a loss marks the subscriptions it holds). */
  async start(): Promise<void> {
    await this.epochs.check();
    this.opts.registry.onChange((change) => {
      const id = change.op === 'upsert' ? change.model.id : change.id;
      this.joined.delete(id);
      if (change.op === 'remove') void this.leave(id).catch((err: unknown) => this.opts.logger.warn({ err, subscription: id }, 'could not end the stream membership of a removed subscription'));
    });
    this.timer = setInterval(() => {
      if (this.opts.engine.isReady()) this.epochs.check().catch(() => undefined);
    }, this.opts.epochCheckMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Told when the engine's numbering state was found lost and a new epoch began. */
  onEpochChange(fn: EpochListener): void {
    this.epochs.onChange(fn);
  }

  get epoch(): Epoch | undefined {
    return this.epochs.current;
  }

  // Writing.

  /** Before claiming an event: lets other replicas number older versions first (order.ts). */
  announce(event: LogInput): Promise<void> {
    return this.order.announce(event);
  }

  /** When the claim was lost, or the event is done with (numbered, unmatched, or dropped). */
  withdraw(event: LogInput): Promise<void> {
    return this.order.withdraw(event);
  }

  /**
   * Numbers the event for every matched subscription: [subscription id, number] pairs. Idempotent
   * per event id. Subscriptions that left their stream meanwhile are not in the answer.
   */
  async number(event: LogInput, matched: readonly ActiveSubscription[]): Promise<Array<[string, number]>> {
    if (matched.length === 0) return [];
    const { engine, retention } = this.opts;
    const epoch = await this.epochs.check();
    await this.order.turn(event);
    if (event.resource) await engine.set(bodyKey(event.eventId), JSON.stringify({ resource: event.resource }), { ttlMs: retention.maxAgeMs });

    const byStream = new Map<string, ActiveSubscription[]>();
    for (const sub of matched) {
      const stream = streamIdOf(sub);
      // Matched on a view the registry has moved past (filters changed, turned off): the event
      // is not this subscription's any more, and numbering it would pull it back to its old stream.
      const now = this.opts.registry.get(sub.id);
      if (!now || streamIdOf(now) !== stream) continue;
      let subs = byStream.get(stream);
      if (!subs) byStream.set(stream, (subs = []));
      subs.push(sub);
    }
    await Promise.all(
      [...byStream].flatMap(([stream, subs]) =>
        subs
          .filter((s) => this.joined.get(s.id)?.stream !== stream)
          .map(async (s) => {
            const joined = await this.members.join(s.id, stream, epoch);
            this.joined.set(s.id, { stream, ...joined });
            this.gens.delete(stream);
          }),
      ),
    );

    const streams = [...byStream.keys()];
    if (streams.length === 0) return [];
    const data = encodeEntry(event);
    const appended = await engine.streamAppend(
      streams.map((stream) => ({ ...streamKeys(stream), idKey: appendIdKey(stream, event.eventId), data })),
      retention,
    );
    const matches: Array<[string, number]> = [];
    await Promise.all(
      streams.map(async (stream, i) => {
        const { seq, gen } = appended[i]!;
        const subs = byStream.get(stream)!;
        if (this.gens.get(stream) !== gen) await this.refresh(stream, subs, gen);
        for (const sub of subs) {
          const m = this.joined.get(sub.id);
          if (m?.stream !== stream || seq <= m.joinSeq) continue;
          matches.push([sub.id, seq - m.base]);
          this.seen(seq - m.base);
        }
      }),
    );
    return matches;
  }

  /** Ends a subscription's stream membership (turned off or deleted); idempotent. */
  async leave(subscriptionId: string): Promise<void> {
    const epoch = this.epochs.current ?? (await this.epochs.check());
    this.joined.delete(subscriptionId);
    await this.members.leave(subscriptionId, epoch);
  }

  /** A number some replica handed out: a new epoch's floor will be above it. */
  seen(number: number): void {
    if (number > this.highest) this.highest = number;
  }

  // Reading.

  /** The subscription's current count (handshakes, heartbeats, $status). */
  async position(subscriptionId: string): Promise<Position> {
    const epoch = this.epochs.current ?? (await this.epochs.check());
    const { record } = await this.members.read(subscriptionId, epoch);
    if (!record) return { count: epoch.floor };
    const position = await positionOf(this.opts.engine, epoch, subscriptionId, record);
    this.seen(position.count);
    return position;
  }

  /**
   * The subscription's events numbered from..to (both inclusive, to may be Infinity), at most
   * `limit`, ascending, with their resources while kept. A bounded number of round trips: a few
   * per stream the range spans, and one for all the bodies.
   */
  async read(subscriptionId: string, from: number, to: number, limit: number): Promise<LogPage> {
    const epoch = this.epochs.current ?? (await this.epochs.check());
    const { record } = await this.members.read(subscriptionId, epoch);
    if (!record) return { count: epoch.floor, firstKept: null, events: [] };
    const position = await positionOf(this.opts.engine, epoch, subscriptionId, record);
    this.seen(position.count);
    return { ...position, ...(await readRange(this.opts.engine, record, position.count, from, to, limit)) };
  }

  /** Re-reads the memberships of a stream whose generation moved (someone joined or left). */
  private async refresh(stream: string, subs: readonly ActiveSubscription[], gen: number): Promise<void> {
    const state = await this.opts.engine.streamState(
      streamKeys(stream).state,
      subs.map((s) => s.id),
    );
    subs.forEach((sub, i) => {
      const m = state.members[i];
      if (m && 'base' in m) this.joined.set(sub.id, { stream, ...m });
      else this.joined.delete(sub.id);
    });
    // Only if nothing moved since the append: otherwise the next event reads again.
    if (state.gen === gen) this.gens.set(stream, gen);
  }
}
