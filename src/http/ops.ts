import type { Pool } from 'undici';
import type { Engine } from '../engine/engine.js';
import { isEngineUnavailable } from '../engine/unavailable.js';
import type { Metrics } from '../metrics.js';
import type { Exchange } from './exchange.js';
import { send, sendJson } from './respond.js';

export interface ReadinessDeps {
  pool: Pool;
  upstreamBase: string;
  engine: Engine;
  probeTimeoutMs?: number;
}

interface Check {
  ok: boolean;
  detail?: string;
}

export function healthz(ex: Exchange): void {
  sendJson(ex, 200, { status: 'ok' }, 'application/json');
}

/** Ready when the upstream answers its metadata endpoint and, if configured, Redis is connected. */
export function readyz(deps: ReadinessDeps): (ex: Exchange) => Promise<void> {
  const path = `${new URL(deps.upstreamBase).pathname.replace(/\/+$/, '')}/metadata`;
  const timeout = deps.probeTimeoutMs ?? 2000;
  return async (ex) => {
    const [upstream, engine] = await Promise.all([probe(), engineCheck()]);
    const ok = upstream.ok && engine.ok;
    sendJson(ex, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: { upstream, [deps.engine.kind]: engine } }, 'application/json');
  };

  async function probe(): Promise<Check> {
    try {
      const res = await deps.pool.request({ path, method: 'GET', headers: { accept: 'application/fhir+json' }, headersTimeout: timeout, bodyTimeout: timeout, signal: AbortSignal.timeout(timeout) });
      await res.body.dump();
      // A 4xx still proves the server is up and answering; 5xx means it is not well.
      return res.statusCode < 500 ? { ok: true } : { ok: false, detail: `metadata answered ${res.statusCode}` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /** Connected is not enough: a paused or overloaded Redis is connected and answers nothing. */
  async function engineCheck(): Promise<Check> {
    if (!deps.engine.isReady()) return { ok: false, detail: 'not connected' };
    try {
      await deps.engine.get('readyz');
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: isEngineUnavailable(err) ? 'not answering' : (err as Error).message };
    }
  }
}

export function metricsHandler(metrics: Metrics): (ex: Exchange) => Promise<void> {
  return async (ex) => {
    const body = await metrics.registry.metrics();
    send(ex, 200, [['Content-Type', metrics.registry.contentType]], body);
  };
}
