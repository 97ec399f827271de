import type { Dispatcher, Pool } from 'undici';
import type { Exchange } from '../http/exchange.js';
import { send } from '../http/respond.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { UrlRewriter } from './rewrite.js';

export interface Relayed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The upstream's body as it answered, before rewriting. */
  text: string;
}

/**
 * Sends a request the gateway has read (and possibly changed) to the upstream with the
 * caller's headers, for the small bodies of operations the gateway owns; the answer is buffered
 * so the gateway can act on it.
 */
export async function forwardBuffered(pool: Pool, upstreamPath: string, ex: Exchange, method: Dispatcher.HttpMethod, body?: string): Promise<Relayed> {
  const headers = upstreamRequestHeaders(ex, false);
  // We read the answer ourselves, so ask for it unencoded.
  headers['accept-encoding'] = 'identity';
  if (body !== undefined) headers['content-type'] = 'application/fhir+json';
  // The body sent is the gateway's own text, never the client's encoded bytes.
  delete headers['content-encoding'];
  const res = await pool.request({ method, path: upstreamPath, headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Answers the client with what the upstream said, its URLs rewritten to the gateway's. */
export function relay(ex: Exchange, answer: Relayed, rewriter: UrlRewriter): void {
  const headers = clientResponseHeaders(answer.headers, (v) => rewriter.header(v), new Set(['content-encoding']));
  send(ex, answer.status, headers, rewriter.active ? rewriter.text(answer.text) : answer.text);
}
