import { Pool } from 'undici';

export interface UpstreamOptions {
  baseUrl: string;
  connections: number;
  timeoutMs: number;
}

/** One keep-alive pool to the FHIR server: every proxied request and every call the gateway makes. */
export function createUpstreamPool(opts: UpstreamOptions): Pool {
  return new Pool(new URL(opts.baseUrl).origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: Math.min(opts.timeoutMs, 10_000),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
}
