// "The event store is unavailable": the one error every caller of the engine can act on (the
// HTTP layer answers 503, the WebSocket channel an error frame, the pipeline retries). Redis is
// unreachable, or reachable but not answering within the command timeout.

/** What a client is told (HTTP 503, WebSocket error frame) while the event store cannot answer. */
export const EVENT_STORE_UNAVAILABLE = 'The event store is unavailable; retry shortly';

export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
}

// What ioredis says when a command could not run or got no answer (enableOfflineQueue: false,
// commandTimeout, a connection that closed with the command in flight).
const IOREDIS_UNAVAILABLE = ['Command timed out', "Stream isn't writeable", 'Connection is closed', 'Cluster is disconnected', 'None of startup nodes is available'];

/** True for an engine that could not answer, as opposed to a bad call or a bug. */
export function isEngineUnavailable(err: unknown): boolean {
  if (err instanceof EngineUnavailableError) return true;
  const message = err instanceof Error ? err.message : '';
  return IOREDIS_UNAVAILABLE.some((m) => message.startsWith(m)) || /^(LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/.test(message);
}
