import { lowerContent, withholdUnreadable } from '../access/delivery-access.js';
import { eventBodyKey, type DeliveredEvent, type LoggedEvent } from '../events/delivery.js';
import { renderNotification, type NotificationEventInput } from '../fhir/notification.js';
import type { ContentLevel, SubscriptionStatusCode } from '../fhir/subscription.js';
import { parseSubscription } from '../fhir/subscription-parse.js';
import { eventCounterKey, eventLogKey } from '../subscriptions/keys.js';
import { relay } from '../upstream/forward.js';
import type { OwnedContext } from './context.js';
import type { Exchange } from './exchange.js';
import { ParametersInvalid, readOperationParams, values } from './parameters.js';
import { send, sendOutcome, FHIR_JSON } from './respond.js';
import { answeredUpstreamFailure } from './upstream-failure.js';

interface StoredSubscription {
  resourceType: 'Subscription';
  id: string;
  status?: SubscriptionStatusCode;
}

const CONTENT = new Set(['empty', 'id-only', 'full-resource']);
/** At most this many events in one answer: a client pages with eventsSinceNumber. */
const MAX_EVENTS = 1000;

/**
 * $events on one subscription: its event log in the version's notification shape. The caller must
 * be able to read the subscription at the upstream, with its own credentials. `content` may lower
 * the subscription's level, never raise it (a higher one is capped); with
 * DELIVERY_AUTHORIZATION=upstream an event whose focus the caller may not read is shown as in an
 * `empty` notification.
 */
export function eventsOperation(ctx: OwnedContext) {
  return (ex: Exchange, id: string): Promise<void> => {
    const params = readOperationParams(ex, ctx.maxOwnedBodyBytes);
    return (async () => {
      let since: number | undefined;
      let until: number | undefined;
      let content: ContentLevel | undefined;
      try {
        const p = await params;
        since = number(values(p, 'eventsSinceNumber')[0], 'eventsSinceNumber');
        until = number(values(p, 'eventsUntilNumber')[0], 'eventsUntilNumber');
        const c = values(p, 'content')[0];
        if (c !== undefined && !CONTENT.has(c)) throw new ParametersInvalid(`content must be empty, id-only or full-resource (got ${JSON.stringify(c)})`);
        content = c as ContentLevel | undefined;
        if (since !== undefined && until !== undefined && until < since) throw new ParametersInvalid('eventsUntilNumber is before eventsSinceNumber');
      } catch (err) {
        if (err instanceof ParametersInvalid) return sendOutcome(ex, 400, 'invalid', err.message);
        throw err;
      }

      let stored: StoredSubscription;
      try {
        const res = await ctx.client.request('GET', `Subscription/${encodeURIComponent(id)}`, { kind: 'caller', headers: ex.headers });
        if (res.status !== 200) return relay(ex, { status: res.status, headers: res.headers, text: JSON.stringify(res.body ?? {}) }, ctx.rewriter);
        stored = res.body as StoredSubscription;
      } catch (err) {
        if (!answeredUpstreamFailure(ex, err)) throw err;
        return;
      }

      const active = ctx.registry.get(id);
      const total = await ctx.engine.getCounter(eventCounterKey(id));
      const bounds = await ctx.engine.logBounds(eventLogKey(id));
      const from = since ?? bounds?.first ?? total + 1;
      const to = Math.min(until ?? total, total);
      // Asking for numbers that were assigned but are no longer kept must not look like "no events".
      if (from <= to && (!bounds || from < bounds.first)) {
        const kept = bounds ? `events ${bounds.first} to ${bounds.last} are kept` : 'no events are kept';
        return sendOutcome(ex, 410, 'not-found', `Events from ${from} are no longer in the event log of Subscription/${id}: ${kept} (retention is limited by count and age)`);
      }
      const entries = from <= to ? await ctx.engine.logRange(eventLogKey(id), from, to, MAX_EVENTS) : [];

      const events: NotificationEventInput[] = [];
      for (const entry of entries) {
        const logged = JSON.parse(entry.data) as LoggedEvent;
        const body = await ctx.engine.get(eventBodyKey(logged.e));
        const resource = body ? (JSON.parse(body) as DeliveredEvent).resource : undefined;
        events.push({
          eventNumber: entry.seq,
          timestamp: logged.t,
          focusReference: logged.r,
          interaction: logged.i,
          versionId: logged.v,
          resourceJson: resource ? JSON.stringify(resource) : undefined,
        });
      }
      const level = lowerContent(active?.content ?? storedContent(stored, ctx), content);
      if (ctx.access) {
        // The caller's own credential; a 401 here only withholds (this request is answered, nothing more).
        await withholdUnreadable(ctx.access, ctx.access.credentials.fromHeaders(ex.headers), level, events, 'events');
      }
      const text = renderNotification({
        version: active?.notificationVersion ?? ctx.fhirVersion,
        dialect: 'spec',
        type: 'query-event',
        subscriptionId: id,
        publicBaseUrl: ctx.publicBaseUrl,
        topic: active && !active.criteria ? active.topic : undefined,
        status: active ? active.status : (stored.status ?? 'off'),
        content: level,
        eventsSinceSubscriptionStart: total,
        events,
      });
      send(ex, 200, [['Content-Type', FHIR_JSON]], ctx.rewriter.active ? ctx.rewriter.text(text) : text);
    })();
  };
}

/** The content level of a subscription that is not active here; what cannot be read shows nothing. */
function storedContent(stored: unknown, ctx: OwnedContext): ContentLevel {
  try {
    return parseSubscription(stored, { fhirVersion: ctx.fhirVersion, topics: ctx.topics, knownResourceTypes: ctx.knownResourceTypes, now: new Date(0) }).content;
  } catch {
    return 'empty';
  }
}

function number(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new ParametersInvalid(`${name} must be a non-negative integer (got ${JSON.stringify(raw)})`);
  return Number(raw);
}
