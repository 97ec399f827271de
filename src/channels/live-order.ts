// Live notifications of one binding, in number order. Replicas number and publish independently,
// so a subscription's event 3 (numbered on one replica) can reach a socket before its event 2
// (numbered on another). A notification that arrives ahead of a gap waits up to HOLD_MS for the
// missing numbers, then goes out anyway; a missing number that turns up later is still sent
// (late, but not lost). Numbers already sent are dropped: a republished delivery is harmless.
const HOLD_MS = 250;
/** Gaps wider than this are not remembered (an epoch change jumps numbers far ahead). */
const MAX_GAP = 1000;
const MAX_REMEMBERED_GAPS = 10_000;

export interface Cursor {
  /** Highest number sent on this binding. */
  lastSent: number;
}

export class LiveOrder {
  private readonly held = new Map<number, () => void>();
  private readonly gaps = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  /** `send` functions must raise cursor.lastSent to their number (never lower it). */
  constructor(private readonly cursor: Cursor) {}

  /** False when the number was sent already (and is dropped); true when sent now or held. */
  offer(number: number, send: () => void): boolean {
    const c = this.cursor;
    if (number <= c.lastSent) {
      if (!this.gaps.delete(number)) return false;
      send();
      return true;
    }
    if (number !== c.lastSent + 1) {
      this.held.set(number, send);
      this.timer ??= setTimeout(() => this.flush(), HOLD_MS).unref();
      return true;
    }
    send();
    this.drain();
    return true;
  }

  /** Forgets what is held (the binding ended). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
  }

  private drain(): void {
    for (let next = this.held.get(this.cursor.lastSent + 1); next; next = this.held.get(this.cursor.lastSent + 1)) {
      this.held.delete(this.cursor.lastSent + 1);
      next();
    }
    if (this.held.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private flush(): void {
    this.timer = undefined;
    const numbers = [...this.held.keys()].sort((a, b) => a - b);
    for (const n of numbers) {
      const send = this.held.get(n)!;
      this.held.delete(n);
      if (n <= this.cursor.lastSent) continue;
      if (n - this.cursor.lastSent <= MAX_GAP) for (let m = this.cursor.lastSent + 1; m < n; m++) this.remember(m);
      send();
    }
  }

  private remember(gap: number): void {
    if (this.gaps.size >= MAX_REMEMBERED_GAPS) this.gaps.delete(this.gaps.values().next().value!);
    this.gaps.add(gap);
  }
}
