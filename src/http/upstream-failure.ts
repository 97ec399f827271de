import { classify } from '../upstream/errors.js';
import type { Exchange } from './exchange.js';
import { sendOutcome } from './respond.js';

/**
 * Answers a failure to talk to the upstream during an operation the gateway owns: 504 when it did
 * not answer in time, 502 when it could not be reached, nothing when the client has gone. False
 * for any other error, which the caller rethrows (a bug is a 500, not an upstream problem).
 */
export function answeredUpstreamFailure(ex: Exchange, err: unknown): boolean {
  const failure = classify(err);
  switch (failure.kind) {
    case 'client-aborted':
      return true;
    case 'timeout':
      sendOutcome(ex, 504, 'timeout', 'The FHIR server did not answer in time');
      return true;
    case 'unreachable':
      sendOutcome(ex, 502, 'transient', 'The FHIR server could not be reached');
      return true;
    default:
      return false;
  }
}
