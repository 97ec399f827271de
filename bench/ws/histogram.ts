// Latency histogram with ~1 % relative buckets: clients in different processes record millions of
// samples each and the orchestrator merges their counts, so percentiles come from all of them.
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Samples below 10 µs share the first bucket. */
const FLOOR_MS = 0.01;

export type Counts = Record<string, number>;

export class Histogram {
  readonly counts = new Map<number, number>();
  total = 0;

  record(ms: number): void {
    const bucket = ms <= FLOOR_MS ? 0 : Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total++;
  }

  toJSON(): Counts {
    return Object.fromEntries(this.counts);
  }

  merge(counts: Counts): void {
    for (const [bucket, n] of Object.entries(counts)) {
      this.counts.set(Number(bucket), (this.counts.get(Number(bucket)) ?? 0) + n);
      this.total += n;
    }
  }

  /** The upper bound of the bucket holding the q-quantile, in ms; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return FLOOR_MS * GROWTH ** bucket;
    }
    return undefined;
  }
}
