import type { SubscriptionModel } from '../fhir/subscription.js';
import { refused } from '../fhir/subscription-invalid.js';
import { parseSubscription, readSubscriptionJson } from '../fhir/subscription-parse.js';
import { restHookEndpoint } from '../fhir/subscription-read.js';
import type { OwnedContext } from './context.js';

export interface ValidatedSubscription {
  model: SubscriptionModel;
  /** The resource as the client sent it (a JSON object with resourceType Subscription). */
  resource: Record<string, unknown>;
}

/**
 * Everything a Subscription must pass before it is stored, for direct writes and for entries of
 * transactions and batches alike: the rest-hook endpoint rule (which resolves the host), then the
 * pure parse. Throws SubscriptionInvalid, with expressions rooted at `Subscription`.
 */
export async function validateSubscription(input: unknown, ctx: Pick<OwnedContext, 'fhirVersion' | 'topics' | 'knownResourceTypes' | 'endpoints'>): Promise<ValidatedSubscription> {
  // Before parsing: rest-hook is still refused by the parser (not yet delivered), but the endpoint
  // rule already holds wherever an endpoint would be stored.
  const hook = restHookEndpoint(input, ctx.fhirVersion);
  if (hook) {
    const verdict = await ctx.endpoints.check(hook.endpoint);
    if (!verdict.ok) throw refused('value', hook.expression, verdict.reason);
  }
  const model = parseSubscription(input, { fhirVersion: ctx.fhirVersion, topics: ctx.topics, knownResourceTypes: ctx.knownResourceTypes });
  return { model, resource: input as Record<string, unknown> };
}

/** As validateSubscription, from a request body. */
export async function validateSubscriptionText(text: string, ctx: Parameters<typeof validateSubscription>[1]): Promise<ValidatedSubscription> {
  return validateSubscription(readSubscriptionJson(text), ctx);
}
