import { renderTopic } from '../topics/render.js';
import { searchTopics } from '../topics/search.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { ParametersInvalid, readOperationParams } from './parameters.js';
import { sendJson, sendOutcome } from './respond.js';

/**
 * Topic discovery answered from the gateway's topics (its configured ones and those stored at the
 * upstream), since those are the ones it honours: SubscriptionTopic read and search for R4B and R5,
 * and on R4 the backport IG's `Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic` search
 * with each topic in its Basic-wrapped form. The upstream's own topic Basics are already among the
 * gateway's topics (re-read after every Basic write), so the answer is the gateway's alone: merging
 * the upstream's search results would list them twice, and list ones the gateway cannot evaluate.
 */
export function topicRoutes(ctx: OwnedContext) {
  const type = ctx.fhirVersion === 'R4' ? 'Basic' : 'SubscriptionTopic';
  const fullUrl = (id: string) => `${ctx.publicBaseUrl}/${type}/${id}`;

  /** `drop` names parameters that chose this route rather than filter topics (Basic's `code`). */
  const search = (ex: Exchange, drop: readonly string[] = []): Promise<void> => {
    const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
    return (async () => {
      let query: URLSearchParams;
      try {
        query = new URLSearchParams([...(await params)].filter(([k]) => !drop.includes(k)).flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, string])));
      } catch (err) {
        if (err instanceof ParametersInvalid) return sendOutcome(ex, 400, 'invalid', err.message);
        throw err;
      }
      let found;
      try {
        found = searchTopics(ctx.topics.all(), query, type === 'Basic' ? 'Basic (topic discovery)' : type);
      } catch (err) {
        return sendOutcome(ex, 400, 'not-supported', (err as Error).message);
      }
      const count = Number(query.get('_count') ?? found.length);
      const page = found.slice(0, Number.isInteger(count) && count >= 0 ? count : found.length);
      sendJson(ex, 200, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: found.length,
        link: [{ relation: 'self', url: `${ctx.publicBaseUrl}/${ex.path.endsWith('/_search') ? `${type}/_search` : type}${ex.query ? `?${ex.query}` : ''}` }],
        entry: page.map((t) => ({ fullUrl: fullUrl(t.id), resource: renderTopic(t, ctx.fhirVersion), search: { mode: 'match' } })),
      });
    })();
  };

  return {
    read(ex: Exchange, id: string): void {
      const topic = ctx.topics.getById(id);
      if (!topic) return sendOutcome(ex, 404, 'not-found', `SubscriptionTopic/${id} is not known`);
      sendJson(ex, 200, renderTopic(topic, ctx.fhirVersion));
    },

    search(ex: Exchange): Promise<void> {
      return search(ex);
    },

    /** A Basic search already classified as topic discovery; `code` chose the route and is not a filter. */
    basicSearch(ex: Exchange): Promise<void> {
      return search(ex, ['code']);
    },

    /**
     * A configured topic read as `Basic/[id]`, so the fullUrl of a discovery search resolves; the
     * upstream's topics (and every other Basic) are read from the upstream. Undefined when the
     * id is not a configured topic's, for the caller to proxy.
     */
    configuredBasic(id: string): object | undefined {
      const topic = ctx.topics.getById(id);
      return topic?.source.kind === 'config' ? renderTopic(topic, 'R4') : undefined;
    },
  };
}
