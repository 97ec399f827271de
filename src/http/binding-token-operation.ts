import { MAX_TOKEN_SUBSCRIPTIONS } from '../channels/tokens.js';
import { outcome } from '../fhir/operation-outcome.js';
import { UpstreamError, type Credentials } from '../upstream/fhir-client.js';
import { relay } from '../upstream/forward.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { ParametersInvalid, readOperationParams, values } from './parameters.js';
import { FHIR_JSON, send, sendOutcome } from './respond.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

interface StoredSubscription {
  resourceType?: string;
  id?: string;
}

/** A refusal the operation answers itself, as an OperationOutcome. */
class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: 'not-found' | 'processing' | 'too-costly',
    message: string,
  ) {
    super(message);
  }
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * $get-ws-binding-token at type and instance level. Whether the caller may read the subscriptions
 * is the upstream's decision: the gateway reads them with the caller's own credentials, and only
 * then issues a token for those that are active websocket subscriptions in the registry.
 */
export function bindingTokenOperation(ctx: OwnedContext) {
  const caller = (ex: Exchange): Credentials => ({ kind: 'caller', headers: ex.headers });

  /** Ids the caller can read among `ids` (a search with the caller's credentials). */
  async function readable(ex: Exchange, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const query = `Subscription?_id=${ids.map(encodeURIComponent).join(',')}&_count=${ids.length}`;
    for await (const resource of ctx.client.search(query, caller(ex))) {
      const stored = resource as StoredSubscription;
      if (stored.resourceType === 'Subscription' && typeof stored.id === 'string') found.add(stored.id);
    }
    return found;
  }

  /** Every subscription the caller can see that is an active websocket subscription here. */
  async function allActive(ex: Exchange): Promise<string[]> {
    const ids = new Set<string>();
    for await (const resource of ctx.client.search('Subscription?_count=200', caller(ex))) {
      const stored = resource as StoredSubscription;
      if (stored.resourceType !== 'Subscription' || typeof stored.id !== 'string' || !ctx.registry.get(stored.id)) continue;
      ids.add(stored.id);
      if (ids.size > MAX_TOKEN_SUBSCRIPTIONS) {
        throw new Refused(400, 'too-costly', `The caller has more than ${MAX_TOKEN_SUBSCRIPTIONS} active websocket subscriptions: name the ones wanted with id parameters`);
      }
    }
    if (ids.size === 0) throw new Refused(404, 'not-found', 'no active websocket subscriptions for the caller');
    return [...ids];
  }

  function requireActive(ids: string[]): void {
    const inactive = ids.filter((id) => !ctx.registry.get(id));
    if (inactive.length > 0) {
      throw new Refused(
        422,
        'processing',
        `${inactive.map((id) => `Subscription/${id}`).join(', ')} ${inactive.length === 1 ? 'is' : 'are'} not active (a websocket subscription must be active to be bound)`,
      );
    }
  }

  async function answer(ex: Exchange, ids: string[]): Promise<void> {
    requireActive(ids);
    const { token, claims } = await ctx.tokens.issue(ids);
    if (ctx.access) {
      // The binding delivers with this request's authority: kept (sealed) for as long as the token lives.
      const { credentials } = ctx.access;
      await credentials.keep(claims.jti, credentials.fromHeaders(ex.headers), claims.expiresAt).catch(async (err: unknown) => {
        await ctx.tokens.revoke(claims.jti).catch(() => undefined);
        throw err;
      });
    }
    // A subscription removed while the token was being recorded may have missed its revocation.
    if (ids.some((id) => !ctx.registry.get(id))) {
      await ctx.tokens.revoke(claims.jti);
      requireActive(ids);
    }
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'token', valueString: token },
        { name: 'expiration', valueDateTime: claims.expiresAt.toISOString() },
        ...claims.subscriptions.map((id) => ({ name: 'subscription', valueString: id })),
        { name: 'websocket-url', valueUrl: ctx.wsUrl },
      ],
    };
    send(
      ex,
      200,
      [
        ['Content-Type', FHIR_JSON],
        ['Cache-Control', 'no-store'],
      ],
      JSON.stringify(body),
    );
  }

  function failed(ex: Exchange, err: unknown): void {
    if (err instanceof ParametersInvalid) return sendOutcome(ex, 400, 'invalid', err.message);
    if (err instanceof Refused) return sendOutcome(ex, err.status, err.code, err.message);
    if (err instanceof UpstreamError) {
      const { status, headers, body } = err.response;
      // Relay the upstream's own answer (401/403/404 ...); a body that is not JSON becomes an OperationOutcome.
      if (body !== undefined) return relay(ex, { status, headers, text: JSON.stringify(body) }, ctx.rewriter);
      const code = status === 401 ? 'login' : status === 403 ? 'forbidden' : status === 404 ? 'not-found' : 'exception';
      return relay(
        ex,
        { status, headers: { ...headers, 'content-type': FHIR_JSON, 'content-length': undefined }, text: JSON.stringify(outcome(code, `The FHIR server answered ${status}`)) },
        ctx.rewriter,
      );
    }
    if (!answeredUpstreamFailure(ex, err)) throw err;
  }

  return {
    /** `[base]/Subscription/[id]/$get-ws-binding-token`: `id` parameters are ignored. */
    instance(ex: Exchange, id: string): Promise<void> {
      const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        try {
          await params;
          if (!FHIR_ID.test(id)) throw new ParametersInvalid(`${JSON.stringify(id)} is not a valid Subscription id`);
          const res = await ctx.client.request('GET', `Subscription/${encodeURIComponent(id)}`, caller(ex));
          if (res.status !== 200) throw new UpstreamError(res, 'read Subscription');
          await answer(ex, [id]);
        } catch (err) {
          failed(ex, err);
        }
      })();
    },

    /** `[base]/Subscription/$get-ws-binding-token` with `id` 0..*; none: all the caller's active websocket subscriptions. */
    type(ex: Exchange): Promise<void> {
      const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
      return (async () => {
        try {
          const ids = [...new Set(values(await params, 'id'))];
          const bad = ids.find((id) => !FHIR_ID.test(id));
          if (bad !== undefined) throw new ParametersInvalid(`id ${JSON.stringify(bad)} is not a valid Subscription id`);
          if (ids.length > MAX_TOKEN_SUBSCRIPTIONS) throw new Refused(400, 'too-costly', `A binding token names at most ${MAX_TOKEN_SUBSCRIPTIONS} subscriptions`);
          if (ids.length === 0) return await answer(ex, await allActive(ex));
          const found = await readable(ex, ids);
          const missing = ids.filter((id) => !found.has(id));
          // Not found and not readable with these credentials look the same.
          if (missing.length > 0) throw new Refused(404, 'not-found', `${missing.map((id) => `Subscription/${id}`).join(', ')} not found`);
          await answer(ex, ids);
        } catch (err) {
          failed(ex, err);
        }
      })();
    },
  };
}
