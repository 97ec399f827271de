import type { Credential } from '../access/credentials.js';
import type { ResourceVersion, Verdict, Visibility } from '../access/visibility.js';
import type { Logger } from '../log.js';

/** Each distinct credential's verdict on one event, by credential id. */
export type Verdicts = ReadonlyMap<string, Verdict>;

/**
 * Live deliveries wait for their access checks here, and leave in the order they arrived per
 * subscription: a check for event n+1 that answers first never lets n+1 overtake n. One check per
 * distinct credential per event, however many bindings share it. When nothing needs checking and
 * nothing of the subscription is waiting, the delivery runs at once (no promise, no tick).
 */
export class AccessGate {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly visibility: Visibility,
    private readonly logger: Logger,
  ) {}

  run(subscriptionId: string, credentials: Iterable<Credential>, refs: readonly ResourceVersion[], deliver: (verdicts: Verdicts | undefined) => void): void {
    const distinct = new Map<string, Credential>();
    if (refs.length > 0) for (const c of credentials) distinct.set(c.id, c);
    const tail = this.tails.get(subscriptionId);
    if (!tail && distinct.size === 0) return deliver(undefined);
    // Started now, so the questions of events waiting behind each other are batched together.
    const checks = Promise.all([...distinct.values()].map(async (c) => [c.id, await this.visibility.check(c, refs)] as const));
    const next = (tail ?? Promise.resolve())
      .then(() => checks)
      .then((pairs) => deliver(distinct.size === 0 ? undefined : new Map(pairs)))
      .catch((err: unknown) => this.logger.error({ err, subscription: subscriptionId }, 'delivery after an access check failed'));
    this.tails.set(subscriptionId, next);
    void next.then(() => {
      if (this.tails.get(subscriptionId) === next) this.tails.delete(subscriptionId);
    });
  }
}
