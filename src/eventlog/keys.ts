// Every engine key of the event log, built here and nowhere else. A stream's keys share one
// {hash tag}, so each numbering step runs on one Redis Cluster slot (src/engine/redis-log.ts).

/** The numbering epoch: one small JSON value (epoch.ts). */
export const EPOCH_KEY = 'eventlog:epoch';

export const streamKeys = (streamId: string) => ({ state: `{es:${streamId}}:state`, log: `{es:${streamId}}:log` });

/** Remembers the number an event got in a stream, for the retention age: numbering is idempotent. */
export const appendIdKey = (streamId: string, eventId: string) => `{es:${streamId}}:id:${eventId}`;

/** Which streams a subscription has been part of, and from which of its numbers (membership.ts). */
export const memberRecordKey = (subscriptionId: string) => `eventlog:sub:${subscriptionId}`;

/** The event as delivered (resource included), stored once per event. */
export const bodyKey = (eventId: string) => `eventlog:body:${eventId}`;

/** Versions of one resource being processed, and when each was made (order.ts). */
export const orderKey = (reference: string) => `eventlog:order:${reference}`;
