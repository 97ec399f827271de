import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

/**
 * One HTTP request/response pair, with everything read from uWS's HttpRequest up front: uWS
 * invalidates the request object once the handler returns or awaits.
 */
export interface Exchange {
  readonly res: HttpResponse;
  readonly method: string;
  /** Path as sent, without the query. */
  readonly path: string;
  /** Raw query string without the leading '?', or ''. */
  readonly query: string;
  /** Lower-case names; repeated headers joined as HTTP allows. */
  readonly headers: Map<string, string>;
  readonly remoteAddress: string;
  readonly requestId: string;
  readonly startedAt: bigint;
  /** The route class metrics and logs report; a dispatcher may refine it. */
  route: string;
  aborted: boolean;
  /** True once a status line has been written: after that only the connection can signal failure. */
  responded: boolean;
  /** The status sent (499 when the client went away first); 0 until known. */
  status: number;
  /** Called once if the client goes away before the response is complete. */
  onAbort(fn: () => void): void;
  /** Called once when the exchange is over, whichever way it ended. */
  onFinish(fn: (ex: Exchange) => void): void;
  /** Marks the exchange over; later calls do nothing. */
  finish(status: number): void;
}

/** nginx's convention for "the client closed the connection before we answered". */
export const CLIENT_CLOSED = 499;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function openExchange(res: HttpResponse, req: HttpRequest, route: string): Exchange {
  const headers = new Map<string, string>();
  req.forEach((name, value) => {
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`);
  });
  const given = headers.get('x-request-id');
  const abortHandlers: (() => void)[] = [];
  const finishHandlers: ((ex: Exchange) => void)[] = [];
  let finished = false;
  const ex: Exchange = {
    res,
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
    requestId: given && REQUEST_ID.test(given) ? given : randomUUID(),
    startedAt: process.hrtime.bigint(),
    route,
    aborted: false,
    responded: false,
    status: 0,
    onAbort: (fn) => abortHandlers.push(fn),
    onFinish: (fn) => finishHandlers.push(fn),
    finish(status) {
      if (finished) return;
      finished = true;
      ex.status = status;
      for (const fn of finishHandlers.splice(0)) fn(ex);
    },
  };
  // uWS requires the abort handler before the handler returns; registering it here, synchronously,
  // means no route can forget it.
  res.onAborted(() => {
    ex.aborted = true;
    for (const fn of abortHandlers.splice(0)) fn();
    ex.finish(CLIENT_CLOSED);
  });
  return ex;
}
