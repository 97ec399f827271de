import type { SubscriptionStatusCode } from '../fhir/subscription.js';
import { buildStatus, buildStatusSearchBundle } from '../fhir/status.js';
import { eventsLostCoding } from '../fhir/events-lost.js';
import { UpstreamError, type Credentials } from '../upstream/fhir-client.js';
import { relay } from '../upstream/forward.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { ParametersInvalid, readOperationParams, values } from './parameters.js';
import { sendJson, sendOutcome } from './respond.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

interface StoredSubscription {
  resourceType: 'Subscription';
  id: string;
  status?: SubscriptionStatusCode;
  criteria?: string;
  topic?: string;
}

const STATUS_CODES = new Set(['requested', 'active', 'error', 'off', 'entered-in-error']);
const MAX_SUBSCRIPTIONS = 1000;

/**
 * $status at type and instance level. Which subscriptions a caller may see is the upstream's
 * decision: the gateway reads them with the caller's own credentials.
 */
export function statusOperation(ctx: OwnedContext) {
  const caller = (ex: Exchange): Credentials => ({ kind: 'caller', headers: ex.headers });

  async function statusOf(stored: StoredSubscription) {
    const active = ctx.registry.get(stored.id);
    const topic = active?.topic ?? stored.topic ?? (stored.criteria && /^(https?|urn):/.test(stored.criteria) ? stored.criteria.split('|')[0] : undefined);
    const subscriptionUrl = `${ctx.publicBaseUrl}/Subscription/${stored.id}`;
    const position = await ctx.eventLog.position(stored.id);
    return {
      subscriptionUrl,
      status: buildStatus(ctx.fhirVersion, {
        subscriptionUrl,
        topic: topic && !active?.criteria ? topic : undefined,
        status: active ? active.status : (stored.status ?? 'off'),
        type: 'query-status',
        eventsSinceSubscriptionStart: position.count,
        ...(position.lostBefore !== undefined ? { error: [eventsLostCoding(position.lostBefore)] } : {}),
      }),
      code: active ? active.status : (stored.status ?? 'off'),
    };
  }

  function failed(ex: Exchange, err: unknown): void {
    if (err instanceof ParametersInvalid) return sendOutcome(ex, 400, 'invalid', err.message);
    if (err instanceof UpstreamError) {
      return relay(ex, { status: err.response.status, headers: err.response.headers, text: JSON.stringify(err.response.body ?? {}) }, ctx.rewriter);
    }
    if (!answeredUpstreamFailure(ex, err)) throw err;
  }

  return {
    instance(ex: Exchange, id: string): Promise<void> {
      const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        try {
          await params;
          const res = await ctx.client.request('GET', `Subscription/${encodeURIComponent(id)}`, caller(ex));
          if (res.status !== 200) throw new UpstreamError(res, 'read Subscription');
          const one = await statusOf(res.body as StoredSubscription);
          sendJson(ex, 200, buildStatusSearchBundle(ctx.fhirVersion, [one], `${ctx.publicBaseUrl}/Subscription/${id}/$status`));
        } catch (err) {
          failed(ex, err);
        }
      })();
    },

    type(ex: Exchange): Promise<void> {
      const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        try {
          const p = await params;
          const ids = values(p, 'id');
          const wanted = values(p, 'status');
          const bad = wanted.find((s) => !STATUS_CODES.has(s));
          if (bad) throw new ParametersInvalid(`status ${JSON.stringify(bad)} is not a subscription status code`);
          const query = ids.length ? `Subscription?_id=${ids.map(encodeURIComponent).join(',')}&_count=200` : 'Subscription?_count=200';
          const statuses = [];
          for await (const resource of ctx.client.search(query, caller(ex))) {
            const stored = resource as StoredSubscription;
            if (stored.resourceType !== 'Subscription') continue;
            const one = await statusOf(stored);
            if (wanted.length === 0 || wanted.includes(one.code)) statuses.push(one);
            if (statuses.length >= MAX_SUBSCRIPTIONS) break;
          }
          sendJson(ex, 200, buildStatusSearchBundle(ctx.fhirVersion, statuses, `${ctx.publicBaseUrl}/Subscription/$status${ex.query ? `?${ex.query}` : ''}`));
        } catch (err) {
          failed(ex, err);
        }
      })();
    },
  };
}
