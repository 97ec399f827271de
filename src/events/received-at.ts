// When this process received an event, kept beside the event rather than in it: the event object
// is the validated wire event (its shape is the producers' contract and what tests compare), and
// the receipt time is process-local bookkeeping for the event→frame latency metric.
import type { ResourceChangeEvent } from './event.js';

const received = new WeakMap<ResourceChangeEvent, number>();

export function markReceived(event: ResourceChangeEvent, at = Date.now()): void {
  received.set(event, at);
}

/** Epoch milliseconds at which the event was validated on this replica; undefined if never marked. */
export function receivedAt(event: ResourceChangeEvent): number | undefined {
  return received.get(event);
}
