// The seam delivery code calls before it renders (DELIVERY_AUTHORIZATION=upstream): which events
// of a notification the recipient's credential may see. Absent (DELIVERY_AUTHORIZATION=none),
// every recipient sees what its subscription's content level says.
import type { NotificationEventInput } from '../fhir/notification.js';
import type { ContentLevel } from '../fhir/subscription.js';
import type { Metrics } from '../metrics.js';
import type { Credential, CredentialStore } from './credentials.js';
import type { ResourceVersion, Verdict, Visibility } from './visibility.js';

export type DeliveryAuthorizationMode = 'upstream' | 'none';

export interface DeliveryAccess {
  credentials: CredentialStore;
  visibility: Visibility;
  metrics: Metrics;
}

/** Where a notification is going: counted apart in fsg_notifications_withheld_total. */
export type DeliveryPath = 'live' | 'replay' | 'events';

const LEVEL: Record<ContentLevel, number> = { empty: 0, 'id-only': 1, 'full-resource': 2 };

/** The lower of two content levels: a request may lower a subscription's level, never raise it. */
export function lowerContent(subscription: ContentLevel, requested: ContentLevel | undefined): ContentLevel {
  return requested !== undefined && LEVEL[requested] < LEVEL[subscription] ? requested : subscription;
}

/** What a delivery must confirm before it shows an event's focus. */
export function focusOf(event: { reference: string; versionId?: string | undefined; interaction: string }): ResourceVersion {
  return { reference: event.reference, versionId: event.versionId, deleted: event.interaction === 'delete' };
}

/**
 * Marks (in place) the events whose focus the credential may not read as withheld, and drops the
 * context resources it may not read. `content` is the level the events will be rendered at: at
 * `empty` nothing is shown, so nothing is asked. Resolves with the verdict's 401 flag.
 */
export async function withholdUnreadable(
  access: DeliveryAccess,
  credential: Credential,
  content: ContentLevel,
  events: NotificationEventInput[],
  path: DeliveryPath,
): Promise<{ unauthorized: boolean; withheld: number }> {
  if (content === 'empty' || events.length === 0) return { unauthorized: false, withheld: 0 };
  const refs: ResourceVersion[] = [];
  for (const e of events) {
    refs.push({ reference: e.focusReference, versionId: e.versionId, deleted: e.interaction === 'delete' });
    for (const c of e.additionalContext ?? []) refs.push({ reference: c.reference });
  }
  const verdict: Verdict = await access.visibility.check(credential, refs);
  let withheld = 0;
  for (const e of events) {
    if (!verdict.visible.has(e.focusReference)) {
      e.withheld = true;
      withheld++;
    }
    if (e.additionalContext) e.additionalContext = e.additionalContext.filter((c) => verdict.visible.has(c.reference));
  }
  if (withheld && !verdict.unauthorized) access.metrics.notificationsWithheld.inc({ path }, withheld);
  return { unauthorized: verdict.unauthorized, withheld };
}
