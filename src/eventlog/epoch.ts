// The numbering epoch: which incarnation of the engine's numbering state the log is in.
//
// The epoch is one value in the engine, created when none exists. A replica remembers the
// epoch it works in and checks it before every numbering step and on a timer. Finding it gone
// means the engine came back without its state (Redis restarted without persistence, or failed
// over to an empty node): every counter, membership and log went with it. The replica then
// starts a new epoch whose `floor` is above every number handed out before, so no number is
// ever reused for a different event, and tells its listeners (bound sockets get a frame,
// `$status` reports the loss).
//
// The floor of a new epoch is the wall clock in microseconds (Date.now() * 1000), or one above
// the highest number this replica has seen if that is higher. A subscription's numbers grow by
// one per event, so they stay below the next floor unless it received more than a thousand
// events per millisecond, on average, over its whole life, which no gateway can deliver; clocks
// need only roughly agree (a clock behind by t lowers the margin by 1000 numbers per ms of t).
// 2^53 microseconds is the year 2255.
//
// The first epoch of a deployment starts at 0, so numbers read 1, 2, 3 — but only when nothing
// could have been numbered before: no replica remembers an epoch and the upstream holds no
// Subscription at all (asked then, not the registry, which another replica may still be
// rebuilding, and which lacks subscriptions that are off). An engine found empty while
// subscriptions exist (all replicas restarted together with an empty Redis, or a memory-engine
// gateway restarted) starts at the clock floor, as after a loss.
import { randomUUID } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import { EPOCH_KEY } from './keys.js';

export interface Epoch {
  id: string;
  /** Every subscription's numbers in this epoch are above this (0 for a deployment's first). */
  floor: number;
  /** When the epoch began (ISO 8601). */
  startedAt: string;
  /** True when it replaced a state that was lost: events numbered before may be gone. */
  afterLoss: boolean;
}

export type EpochListener = (previous: Epoch, next: Epoch) => void;

export interface EpochOptions {
  engine: Engine;
  logger: Logger;
  /** True when nothing can have been numbered yet (the upstream holds no Subscription at all). */
  pristine: () => Promise<boolean>;
  /** The highest subscription number this replica has handed out or seen. */
  highestSeen: () => number;
  /** Runs before an epoch that follows a loss is published, so nothing is numbered in it yet. */
  beforeLossEpoch: (next: Epoch) => Promise<void>;
}

export class EpochKeeper {
  private epoch: Epoch | undefined;
  private checking: Promise<Epoch> | undefined;
  private readonly listeners: EpochListener[] = [];

  constructor(private readonly opts: EpochOptions) {}

  /** The epoch this replica works in; undefined before the first check. */
  get current(): Epoch | undefined {
    return this.epoch;
  }

  onChange(fn: EpochListener): void {
    this.listeners.push(fn);
  }

  /** Reads the engine's epoch, starting a new one if it is gone. Concurrent callers share one check. */
  check(): Promise<Epoch> {
    this.checking ??= this.read().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async read(): Promise<Epoch> {
    const { engine } = this.opts;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await engine.get(EPOCH_KEY);
      const stored = raw === null ? undefined : parseEpoch(raw);
      if (stored) return this.adopt(stored);
      const next = await this.fresh();
      if (next.afterLoss) await this.opts.beforeLossEpoch(next);
      // Two replicas may find it gone at once: one creates, the other adopts the winner.
      if (await engine.setIf(EPOCH_KEY, raw, JSON.stringify(next))) return this.adopt(next);
    }
    throw new Error('could not agree on a numbering epoch with the engine');
  }

  private async fresh(): Promise<Epoch> {
    const remembered = this.epoch !== undefined;
    // Not knowing (the upstream did not answer) counts as not pristine: the clock floor is safe.
    const first = !remembered && (await this.opts.pristine().catch(() => false));
    const floor = first ? 0 : Math.max(Date.now() * 1000, this.opts.highestSeen() + 1, (this.epoch?.floor ?? 0) + 1);
    return { id: randomUUID(), floor, startedAt: new Date().toISOString(), afterLoss: !first };
  }

  private adopt(next: Epoch): Epoch {
    const previous = this.epoch;
    this.epoch = next;
    if (previous && previous.id !== next.id) {
      this.opts.logger.error(
        { previousEpoch: previous.id, epoch: next.id, floor: next.floor },
        'the engine lost its numbering state (Redis restarted without persistence, or failed over to an empty node): events may have been lost; numbering continues above every number handed out before',
      );
      for (const fn of this.listeners) {
        try {
          fn(previous, next);
        } catch (err) {
          this.opts.logger.error({ err }, 'epoch listener failed');
        }
      }
    } else if (!previous && next.afterLoss) {
      this.opts.logger.warn({ epoch: next.id, floor: next.floor }, 'numbering runs in an epoch that began after a loss of state; subscriptions report that events may have been lost');
    }
    return next;
  }
}

function parseEpoch(raw: string): Epoch | undefined {
  try {
    const v = JSON.parse(raw) as Partial<Epoch>;
    if (typeof v.id === 'string' && Number.isSafeInteger(v.floor) && typeof v.startedAt === 'string' && typeof v.afterLoss === 'boolean') return v as Epoch;
  } catch {
    // fall through: an unreadable epoch is treated as gone
  }
  return undefined;
}
