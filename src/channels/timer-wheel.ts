/**
 * One timer for many deadlines (heartbeats, token expiries): deadlines fall into one-second
 * slots and a single interval fires the slots that are due. Cancelling is O(1).
 */
export class TimerWheel {
  private readonly slots = new Map<number, Map<string, () => void>>();
  private readonly slotOf = new Map<string, number>();
  private readonly interval: NodeJS.Timeout;
  private next: number;

  constructor(private readonly resolutionMs = 1000) {
    this.next = this.slot(Date.now());
    this.interval = setInterval(() => this.tick(), resolutionMs);
    this.interval.unref();
  }

  /** Runs fn at (about) dueMs; a key already scheduled is moved. */
  schedule(key: string, dueMs: number, fn: () => void): void {
    this.cancel(key);
    const slot = Math.max(this.slot(dueMs), this.next);
    let bucket = this.slots.get(slot);
    if (!bucket) this.slots.set(slot, (bucket = new Map<string, () => void>()));
    bucket.set(key, fn);
    this.slotOf.set(key, slot);
  }

  cancel(key: string): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    const bucket = this.slots.get(slot);
    bucket?.delete(key);
    if (bucket?.size === 0) this.slots.delete(slot);
  }

  get size(): number {
    return this.slotOf.size;
  }

  stop(): void {
    clearInterval(this.interval);
    this.slots.clear();
    this.slotOf.clear();
  }

  private tick(): void {
    const now = this.slot(Date.now());
    for (; this.next <= now; this.next++) {
      const bucket = this.slots.get(this.next);
      if (!bucket) continue;
      this.slots.delete(this.next);
      for (const [key, fn] of bucket) {
        this.slotOf.delete(key);
        fn();
      }
    }
  }

  private slot(ms: number): number {
    return Math.floor(ms / this.resolutionMs);
  }
}
