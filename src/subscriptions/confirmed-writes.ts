// What a Subscription write the upstream has answered does to the registry. One place for it, used
// by direct writes (http/subscription-writes.ts) and by Subscription entries of transactions and
// batches (http/bundle-writes.ts), so both mean the same.
//
// Guarantee: the registry changes only when the upstream confirmed the caller's own write (2xx).
// A 404 or 410 is that caller's answer (Medplum answers 404 outside a caller's access policy), not
// proof that the subscription is gone: it removes the subscription only when the gateway's own read,
// with FHIR_UPSTREAM_AUTHORIZATION, also finds it gone. Anything else (an error, a 403, a read that
// fails) changes nothing; the periodic resync stays the backstop.
import type { SubscriptionModel, SubscriptionStatusCode } from '../fhir/subscription.js';
import type { Logger } from '../log.js';
import { SERVICE, type UpstreamClient } from '../upstream/fhir-client.js';
import type { SubscriptionRegistry } from './registry.js';

const ok = (status: number) => status >= 200 && status < 300;

/** The status the gateway stores: a websocket subscription is active from creation on, unless created off. */
export function managedStatus(model: SubscriptionModel): SubscriptionStatusCode {
  return model.status === 'off' ? 'off' : 'active';
}

export class ConfirmedWrites {
  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly client: UpstreamClient,
    private readonly logger: Logger,
  ) {}

  /** A create or update of `model` (stored as managedStatus) that the upstream answered with `status`. */
  async stored(model: SubscriptionModel, id: string | undefined, status: number): Promise<void> {
    if (!ok(status) || !id) return;
    if (managedStatus(model) === 'active') await this.registry.upsert({ ...model, id, status: 'active' });
    else await this.registry.remove(id, 'off');
  }

  /** A delete the upstream answered with `status`. */
  async deleted(id: string, status: number): Promise<void> {
    if (!this.registry.get(id)) return;
    if (ok(status) || ((status === 404 || status === 410) && (await this.goneForTheGateway(id)))) await this.registry.remove(id, 'deleted');
  }

  private async goneForTheGateway(id: string): Promise<boolean> {
    try {
      const res = await this.client.request('GET', `Subscription/${encodeURIComponent(id)}`, SERVICE);
      return res.status === 404 || res.status === 410;
    } catch (err) {
      this.logger.warn({ err, subscription: id }, 'could not confirm that a Subscription is gone; the registry keeps it until the next resync');
      return false;
    }
  }
}
