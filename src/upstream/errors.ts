import { BodyTooLarge, ClientAborted } from '../http/body.js';

export type Failure =
  | { kind: 'client-aborted' }
  | { kind: 'too-large'; limit: number }
  | { kind: 'timeout'; detail: string }
  | { kind: 'unreachable'; detail: string }
  /** Not a network failure at all: a bug on our side, answered 500. */
  | { kind: 'internal'; detail: string };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Walks an error and its causes (undici nests them, happy-eyeballs aggregates them). */
function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const queue = [err];
  while (queue.length) {
    const e = queue.shift();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    yield e;
    if (e instanceof AggregateError) queue.push(...(e.errors as unknown[]));
    if (e instanceof Error && 'cause' in e) queue.push(e.cause);
  }
}

/** What went wrong talking to the upstream, in the terms the client is answered in. */
export function classify(err: unknown): Failure {
  const all = [...chain(err)];
  const tooLarge = all.find((e) => e instanceof BodyTooLarge);
  if (tooLarge) return { kind: 'too-large', limit: tooLarge.limit };
  if (all.some((e) => e instanceof ClientAborted || (e as { code?: string }).code === 'UND_ERR_ABORTED')) return { kind: 'client-aborted' };
  const codes = all.map((e) => (e as { code?: string }).code).filter((c): c is string => typeof c === 'string');
  const detail = codes.length ? codes.join(' / ') : err instanceof Error ? err.message : String(err);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return { kind: 'timeout', detail };
  if (codes.length === 0) return { kind: 'internal', detail };
  return { kind: 'unreachable', detail };
}
