import type { Config, RedisConfig } from './config.js';
import { createEngine, type EngineOptions } from './engine/index.js';
import type { Engine } from './engine/engine.js';
import { healthz, metricsHandler, readyz } from './http/ops.js';
import { HttpServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { createUpstreamPool } from './upstream/pool.js';
import { createProxy, type Proxy } from './upstream/proxy.js';
import { UrlRewriter } from './upstream/rewrite.js';

export interface Gateway {
  readonly port: number;
  /** The public FHIR base URL clients use. */
  readonly baseUrl: string;
  readonly engine: Engine;
  readonly metrics: Metrics;
  /** Stops accepting, lets requests in flight finish (bounded), then releases everything. */
  close(): Promise<void>;
}

/** Composition root: builds the parts and wires them; owns their order of start and stop. */
export async function startGateway(config: Config & { fhirUpstreamUrl: string }, logger: Logger): Promise<Gateway> {
  const metrics = new Metrics();
  const engine = createEngine(engineOptions(config.redis), logger);
  await engine.start();

  const pool = createUpstreamPool({ baseUrl: config.fhirUpstreamUrl, connections: config.upstreamConnections, timeoutMs: config.upstreamTimeoutMs });
  const server = new HttpServer(logger, metrics);
  const base = config.fhirBasePath;

  // The public URL may depend on the port we are given, so the proxy is built after listening;
  // uWS handles no request before the listen callback has returned.
  let proxy: Proxy | undefined;
  const forward = (ex: Parameters<Proxy>[0]) => proxy!(ex);
  server
    .route('get', '/healthz', 'health', healthz)
    .route('get', '/readyz', 'health', readyz({ pool, upstreamBase: config.fhirUpstreamUrl, engine }))
    .route('get', '/metrics', 'metrics', metricsHandler(metrics))
    .route('any', base, 'proxy', forward)
    .route('any', `${base}/*`, 'proxy', forward);

  let port: number;
  try {
    port = await server.listen(config.host, config.port);
  } catch (err) {
    await pool.destroy();
    await engine.close();
    throw err;
  }
  const baseUrl = config.publicBaseUrl ?? `http://localhost:${port}${base}`;
  const rewriter = new UrlRewriter([config.fhirUpstreamUrl, ...config.upstreamAliases], baseUrl);
  proxy = createProxy({ pool, upstreamBase: config.fhirUpstreamUrl, basePath: base, rewriter, maxBodyBytes: config.maxBodyBytes, metrics, logger });
  logger.info({ port, baseUrl, upstream: config.fhirUpstreamUrl, engine: engine.kind }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    baseUrl,
    engine,
    metrics,
    close: () =>
      (closing ??= (async () => {
        server.stopAccepting();
        const cut = await server.drain(config.shutdownTimeoutMs);
        if (cut > 0) logger.warn({ requests: cut }, 'shutdown timeout reached; closing requests still in flight');
        await (cut > 0 ? pool.destroy() : pool.close());
        server.close();
        await engine.close();
        logger.info('gateway stopped');
      })()),
  };
}

function engineOptions(redis: RedisConfig | undefined): EngineOptions {
  if (!redis) return {};
  const { keyPrefix } = redis;
  if (redis.url) return { redis: { url: redis.url, keyPrefix } };
  if (redis.sentinel) return { redis: { sentinel: redis.sentinel, keyPrefix } };
  if (redis.cluster) return { redis: { cluster: redis.cluster, keyPrefix } };
  return {};
}
