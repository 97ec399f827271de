import { renderTopic } from '../topics/render.js';
import { searchTopics } from '../topics/search.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { ParametersInvalid, readOperationParams } from './parameters.js';
import { sendJson, sendOutcome } from './respond.js';

/**
 * SubscriptionTopic read and search for R4B and R5 clients, answered from the gateway's topics
 * (its configured ones and those stored at the upstream), since those are the ones it honours.
 */
export function topicRoutes(ctx: OwnedContext) {
  const fullUrl = (id: string) => `${ctx.publicBaseUrl}/SubscriptionTopic/${id}`;
  return {
    read(ex: Exchange, id: string): void {
      const topic = ctx.topics.all().find((t) => t.id === id);
      if (!topic) return sendOutcome(ex, 404, 'not-found', `SubscriptionTopic/${id} is not known`);
      sendJson(ex, 200, renderTopic(topic, ctx.fhirVersion));
    },

    search(ex: Exchange): Promise<void> {
      const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        let query: URLSearchParams;
        try {
          query = new URLSearchParams([...(await params)].flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, string])));
        } catch (err) {
          if (err instanceof ParametersInvalid) return sendOutcome(ex, 400, 'invalid', err.message);
          throw err;
        }
        let found;
        try {
          found = searchTopics(ctx.topics.all(), query);
        } catch (err) {
          return sendOutcome(ex, 400, 'not-supported', (err as Error).message);
        }
        const count = Number(query.get('_count') ?? found.length);
        const page = found.slice(0, Number.isInteger(count) && count >= 0 ? count : found.length);
        sendJson(ex, 200, {
          resourceType: 'Bundle',
          type: 'searchset',
          total: found.length,
          link: [{ relation: 'self', url: `${ctx.publicBaseUrl}/SubscriptionTopic${ex.query ? `?${ex.query}` : ''}` }],
          entry: page.map((t) => ({ fullUrl: fullUrl(t.id), resource: renderTopic(t, ctx.fhirVersion), search: { mode: 'match' } })),
        });
      })();
    },
  };
}
