import type { Exchange } from '../http/exchange.js';

// RFC 9110 section 7.6.1 plus the de-facto ones proxies drop.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function connectionTokens(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Headers for the upstream request: end-to-end headers (Authorization included) untouched,
 * hop-by-hop ones dropped, X-Forwarded-* describing the original request.
 */
export function upstreamRequestHeaders(ex: Exchange, withBody: boolean): Record<string, string> {
  const named = connectionTokens(ex.headers.get('connection'));
  const out: Record<string, string> = {};
  for (const [name, value] of ex.headers) {
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    // undici sets Host for the upstream origin and refuses Expect; the length is recomputed
    // when there is no body to send.
    if (name === 'host' || name === 'expect') continue;
    if (name === 'content-length' && !withBody) continue;
    out[name] = value;
  }
  const priorFor = ex.headers.get('x-forwarded-for');
  out['x-forwarded-for'] = priorFor ? `${priorFor}, ${ex.remoteAddress}` : ex.remoteAddress;
  // An ingress in front of the gateway knows the original scheme and host better than we do.
  out['x-forwarded-proto'] = ex.headers.get('x-forwarded-proto') ?? 'http';
  const host = ex.headers.get('x-forwarded-host') ?? ex.headers.get('host');
  if (host) out['x-forwarded-host'] = host;
  out['x-request-id'] = ex.requestId;
  return out;
}

// uWS writes its own Date, Content-Length or Transfer-Encoding.
const SET_BY_UWS = new Set(['date', 'content-length']);
/**
 * Headers for the client: hop-by-hop dropped, the upstream's URLs rewritten to the gateway's in
 * every header, not only the usual Location, Content-Location and Link: Refresh, a
 * WWW-Authenticate realm, a CSP or a vendor header can carry them as well.
 */
export function clientResponseHeaders(headers: Record<string, string | string[] | undefined>, rewrite: (value: string) => string, drop: ReadonlySet<string> = new Set()): Array<[string, string]> {
  const named = connectionTokens(headers.connection as string | undefined);
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || SET_BY_UWS.has(name) || drop.has(name)) continue;
    if (name === 'x-request-id') continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, rewrite(v)]);
  }
  return out;
}
