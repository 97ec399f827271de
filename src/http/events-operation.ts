import { lowerContent, withholdUnreadable } from '../access/delivery-access.js';
import type { EventRecord } from '../eventlog/index.js';
import { renderNotification, type NotificationEventInput } from '../fhir/notification.js';
import type { ContentLevel, SubscriptionStatusCode } from '../fhir/subscription.js';
import { parseSubscription } from '../fhir/subscription-parse.js';
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
      // eventsSinceNumber=0 (or absent) means from the first event still kept.
      const page = await ctx.eventLog.read(id, since || 1, until ?? Infinity, MAX_EVENTS);
      const total = page.count;
      const from = since || (page.firstKept ?? total + 1);
      const to = Math.min(until ?? total, total);
      // Asking for numbers that were assigned but are no longer kept must not look like "no events".
      if (since && from <= to && (page.firstKept === null || from < page.firstKept)) {
        const kept = page.firstKept !== null ? `events ${page.firstKept} to ${total} are kept` : 'no events are kept';
        const lost = page.lostBefore !== undefined && from < page.lostBefore ? `; events before ${page.lostBefore} were lost with the engine's state` : '';
        return sendOutcome(ex, 410, 'not-found', `Events from ${from} are no longer in the event log of Subscription/${id}: ${kept} (retention is limited by count and age)${lost}`);
      }
      const events: NotificationEventInput[] = page.events.map(toNotificationEvent);
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

function toNotificationEvent(e: EventRecord): NotificationEventInput {
  return {
    eventNumber: e.number,
    timestamp: e.timestamp,
    focusReference: e.reference,
    interaction: e.interaction,
    versionId: e.versionId,
    resourceJson: e.resource ? JSON.stringify(e.resource) : undefined,
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
