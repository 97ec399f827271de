// Handing one message to every handler of a channel, shared by both engines so a failing handler
// is isolated the same way in each.
import type { Logger } from '../log.js';
import type { MessageHandler } from './engine.js';

/** One subscribe() call. A separate object per call, so the same function subscribed twice is
 * two handlers and unsubscribing one leaves the other. */
export interface Target {
  readonly handler: MessageHandler;
}

export function deliver(targets: Iterable<Target>, channel: string, message: string, logger: Logger): void {
  // Copy first: a handler may subscribe or unsubscribe while we iterate.
  for (const target of [...targets]) {
    try {
      const result: unknown = target.handler(message);
      if (result instanceof Promise) {
        result.catch((err: unknown) => logger.error({ err, channel }, 'message handler failed'));
      }
    } catch (err) {
      logger.error({ err, channel }, 'message handler failed');
    }
  }
}
