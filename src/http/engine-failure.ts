import { EVENT_STORE_UNAVAILABLE, isEngineUnavailable } from '../engine/unavailable.js';
import type { Exchange } from './exchange.js';
import { sendOutcome } from './respond.js';

/**
 * Answers an engine that could not answer (Redis unreachable or not answering in time) with a
 * 503 OperationOutcome. False for any other error, which stays a 500.
 */
export function answeredEngineFailure(ex: Exchange, err: unknown): boolean {
  if (!isEngineUnavailable(err)) return false;
  if (!ex.responded) sendOutcome(ex, 503, 'transient', EVENT_STORE_UNAVAILABLE);
  else if (!ex.aborted) {
    ex.res.close();
    ex.finish(ex.status || 503);
  }
  return true;
}
