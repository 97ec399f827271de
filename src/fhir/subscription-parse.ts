// Turns the Subscription a client sends into the gateway's SubscriptionModel, or says exactly what
// is wrong with it. Pure: the caller does the I/O, the topics are looked up in memory.
//
// The server's FHIR version decides the form: R4/R4B servers take the backport profile or classic
// criteria, R5 servers take the R5 Subscription. Only the websocket channel is offered.
import type { ParseContext } from './parse-context.js';
import type { SubscriptionModel, SubscriptionStatusCode } from './subscription.js';
import { structure, SubscriptionInvalid } from './subscription-invalid.js';
import { parseR4Subscription } from './subscription-parse-r4.js';
import { parseR5Subscription } from './subscription-parse-r5.js';
import { readSubscriptionObject } from './subscription-read.js';

export type { ParseContext };
export { SubscriptionInvalid };

/** Throws SubscriptionInvalid, and nothing else, for any input that is not an acceptable Subscription. */
export function parseSubscription(input: unknown, ctx: ParseContext): SubscriptionModel {
  const o = readSubscriptionObject(input);
  return ctx.fhirVersion === 'R5' ? parseR5Subscription(o, ctx) : parseR4Subscription(o, ctx);
}

/** As parseSubscription, from the request body text. */
export function parseJsonSubscription(text: string, ctx: ParseContext): SubscriptionModel {
  return parseSubscription(readSubscriptionJson(text), ctx);
}

/** The JSON of a Subscription body; SubscriptionInvalid (400) when it is not JSON. */
export function readSubscriptionJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw structure('Subscription', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The resource to forward upstream: the input with status set (and nothing else changed). */
export function withStatus<T>(resource: T, status: SubscriptionStatusCode): T {
  return { ...resource, status };
}
