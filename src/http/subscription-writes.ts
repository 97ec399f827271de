import { subscriptionIdFromLocation } from '../fhir/bundle-subscription-entries.js';
import { ConfirmedWrites, managedStatus as target } from '../subscriptions/confirmed-writes.js';
import { SubscriptionInvalid, withStatus } from '../fhir/subscription-parse.js';
import { forwardBuffered, relay, type Relayed } from '../upstream/forward.js';
import { BodyTooLarge, ClientAborted, readBody } from './body.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { sendOutcome } from './respond.js';
import { validateSubscriptionText, type ValidatedSubscription } from './subscription-validation.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

/**
 * Create, update and delete of Subscription: validated before anything reaches the upstream,
 * stored by the upstream with the status the gateway sets, and the registry updated once the
 * upstream has confirmed the caller's change (see subscriptions/confirmed-writes.ts).
 */
export function subscriptionWrites(ctx: OwnedContext) {
  const confirmed = new ConfirmedWrites(ctx.registry, ctx.client, ctx.logger);
  const path = (rest: string) => `${ctx.upstreamPath}/${rest}`;

  async function readModel(ex: Exchange, body: Promise<Buffer>): Promise<ValidatedSubscription | undefined> {
    let text: string;
    try {
      text = (await body).toString('utf8');
    } catch (err) {
      if (err instanceof BodyTooLarge) sendOutcome(ex, 413, 'too-costly', err.message, { closeConnection: true });
      else if (!(err instanceof ClientAborted)) throw err;
      return undefined;
    }
    try {
      return await validateSubscriptionText(text, ctx);
    } catch (err) {
      if (!(err instanceof SubscriptionInvalid)) throw err;
      sendOutcome(ex, err.status, err.code, err.message, { expression: err.expression });
      return undefined;
    }
  }

  async function forward(ex: Exchange, method: 'POST' | 'PUT' | 'DELETE', upstreamPath: string, body?: string): Promise<Relayed | undefined> {
    try {
      return await forwardBuffered(ctx.pool, upstreamPath, ex, method, body);
    } catch (err) {
      if (!answeredUpstreamFailure(ex, err)) throw err;
      return undefined;
    }
  }

  return {
    create(ex: Exchange): Promise<void> {
      const body = readBody(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        const read = await readModel(ex, body);
        if (!read) return;
        const resource = withStatus(read.resource, target(read.model));
        delete resource.id;
        const answer = await forward(ex, 'POST', path('Subscription'), JSON.stringify(resource));
        if (!answer) return;
        await confirmed.stored(read.model, storedId(answer), answer.status);
        relay(ex, answer, ctx.rewriter);
      })();
    },

    update(ex: Exchange, id: string): Promise<void> {
      const body = readBody(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        const read = await readModel(ex, body);
        if (!read) return;
        if (read.resource.id !== id) {
          sendOutcome(ex, 400, 'invalid', `Subscription.id (${JSON.stringify(read.resource.id)}) must match the id in the URL (${id})`, { expression: ['Subscription.id'] });
          return;
        }
        const answer = await forward(ex, 'PUT', path(`Subscription/${encodeURIComponent(id)}`), JSON.stringify(withStatus(read.resource, target(read.model))));
        if (!answer) return;
        await confirmed.stored(read.model, id, answer.status);
        relay(ex, answer, ctx.rewriter);
      })();
    },

    async remove(ex: Exchange, id: string): Promise<void> {
      const answer = await forward(ex, 'DELETE', path(`Subscription/${encodeURIComponent(id)}`));
      if (!answer) return;
      await confirmed.deleted(id, answer.status);
      relay(ex, answer, ctx.rewriter);
    },
  };
}

/** The id the upstream gave a created resource: from the body, else from Location. */
function storedId(answer: Relayed): string | undefined {
  try {
    const body = JSON.parse(answer.text) as { resourceType?: string; id?: string };
    if (body.resourceType === 'Subscription' && typeof body.id === 'string') return body.id;
  } catch {
    // return=minimal or a non-JSON answer: fall back to the Location header
  }
  const location = answer.headers.location ?? answer.headers['content-location'];
  return subscriptionIdFromLocation(Array.isArray(location) ? location[0] : location);
}
