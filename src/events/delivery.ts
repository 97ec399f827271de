// What the pipeline publishes once per numbered event, for the WebSocket channel to render and send:
// the event (its resource once) and every (subscription, number) it matched, so one message
// serves a fan-out of any size.
import type { FhirResource, Interaction } from './event.js';

export const DELIVERY_CHANNEL = 'deliveries';

export interface DeliveredEvent {
  eventId: string;
  interaction: Interaction;
  reference: string;
  versionId?: string;
  timestamp: string;
  /** The focus resource (the current version; for delete, absent). */
  resource?: FhirResource;
}

export interface DeliveryMessage {
  event: DeliveredEvent;
  /** [subscription id, event number] pairs. */
  matches: Array<[string, number]>;
  /** Epoch ms at which the numbering replica received the event (for fsg_event_to_frame_seconds). */
  receivedAt?: number;
}
