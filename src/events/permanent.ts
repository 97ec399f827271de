/**
 * Failures no retry of the same event can change: the event's own data broke the code that handles
 * it (a RangeError from serialising or recursing, a TypeError from a shape nothing expected). Network
 * and Redis failures are never of these classes (undici and ioredis throw their own error types),
 * so they keep their retries. Validation rejects the known cases up front; this is the net for the
 * rest, so that such an event never holds a processing slot through a minute of retries.
 */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError;
}
