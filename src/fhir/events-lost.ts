// How the gateway says "events of this subscription may have been lost" (its event store lost its
// state): one coding, used by the WebSocket error frame and by $status's `error`, so a client
// can recognise it wherever it appears and re-read the state it follows.
export const EVENTS_LOST_SYSTEM = 'urn:fhir-subscription-gateway:issue';

export function eventsLostCoding(lostBefore: number): { system: string; code: string; display: string } {
  return { system: EVENTS_LOST_SYSTEM, code: 'events-lost', display: `Events numbered below ${lostBefore} may have been lost; re-read the current state` };
}
