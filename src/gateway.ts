import type { DeliveryAccess } from './access/delivery-access.js';
import { deliveryAccess } from './access/setup.js';
import { ActivityLog } from './activity-log.js';
import { EndpointChecker } from './channels/resthook-endpoint.js';
import { BindingTokens, bindingTokenKeys, deploymentIssuer } from './channels/tokens.js';
import { WebSocketChannel } from './channels/websocket.js';
import { AbandonedSubscriptionReaper } from './subscriptions/reaper.js';
import { DEFAULT_KEY_PREFIX, type Config, type FhirVersion, type RedisConfig } from './config.js';
import { createEngine, type EngineOptions } from './engine/index.js';
import type { Engine } from './engine/engine.js';
import { CatchUp } from './events/catchup.js';
import { EventLog } from './eventlog/index.js';
import { DEFAULT_EVENTS_CHANNEL, EventPipeline } from './events/pipeline.js';
import { StreamInput } from './events/stream-input.js';
import { parseAllowList } from './fhir/endpoint-rule.js';
import { resourceTypes } from './fhir/search-parameters.js';
import type { OwnedContext } from './http/context.js';
import { CONSOLE_PATH, consoleHandler, loadConsoleAssets } from './http/console.js';
import { fhirRoutes } from './http/fhir-routes.js';
import { healthz, metricsHandler, readyz } from './http/ops.js';
import { HttpServer } from './http/server.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { SubscriptionService } from './subscriptions/service.js';
import { SERVICE, UpstreamClient } from './upstream/fhir-client.js';
import { createUpstreamPool } from './upstream/pool.js';
import { createProxy, type SeenWrite } from './upstream/proxy.js';
import { UrlRewriter } from './upstream/rewrite.js';
import { detectFhirVersion } from './upstream/version.js';

export interface Gateway {
  readonly port: number;
  /** The public FHIR base URL clients use. */
  readonly baseUrl: string;
  readonly fhirVersion: FhirVersion;
  readonly engine: Engine;
  readonly metrics: Metrics;
  readonly subscriptions: SubscriptionService;
  readonly pipeline: EventPipeline;
  readonly eventLog: EventLog;
  readonly tokens: BindingTokens;
  /** Delivery authorization (DELIVERY_AUTHORIZATION=upstream); undefined with none. */
  readonly access: DeliveryAccess | undefined;
  /** Stops accepting, lets requests in flight finish (bounded), then releases everything. */
  close(): Promise<void>;
}

/** Composition root: builds the parts and wires them; owns their order of start and stop. */
/** `demo`: the upstream is the embedded demo server (main.ts started it). */
export async function startGateway(config: Config & { fhirUpstreamUrl: string; demo?: boolean }, logger: Logger): Promise<Gateway> {
  const metrics = new Metrics();
  const engine = createEngine(engineOptions(config.redis, config.redisCommandTimeoutMs), logger);
  await engine.start();
  const pool = createUpstreamPool({ baseUrl: config.fhirUpstreamUrl, connections: config.upstreamConnections, timeoutMs: config.upstreamTimeoutMs });
  const client = new UpstreamClient(pool, config.fhirUpstreamUrl, config.upstreamAuthorization);

  let subscriptions: SubscriptionService | undefined;
  let pipeline: EventPipeline | undefined;
  let input: StreamInput | undefined;
  let catchUp: CatchUp | undefined;
  const server = new HttpServer(logger, metrics);
  try {
    const fhirVersion = config.fhirVersion ?? (await detectFhirVersion(client, config.upstreamWaitMs, logger));
    const knownResourceTypes = resourceTypes(fhirVersion);
    subscriptions = new SubscriptionService({ engine, client, logger, fhirVersion, topicsDir: config.topicsDir, resyncIntervalMs: config.resyncIntervalMs, knownResourceTypes });
    const tokenKeys = bindingTokenKeys(config, logger);
    const keyMaterial = tokenKeys.algorithm === 'HS256' ? tokenKeys.secret : tokenKeys.privateKey;
    const access = deliveryAccess(config.deliveryAuthorization, { engine, client, metrics, logger, keyMaterial, timeoutMs: config.deliveryAuthorizationTimeoutMs });
    const tokens = new BindingTokens({ engine, keys: tokenKeys, lifetimeSeconds: config.tokenLifetimeSeconds, issuer: deploymentIssuer(config.redis), logger });
    // Before start, so removals found by the first rebuild revoke too. Every replica hears each
    // removal and revokes; revoking is idempotent.
    subscriptions.registry.onChange((change) => {
      if (change.op === 'remove')
        tokens.revokeSubscription(change.id).catch((err: unknown) => logger.warn({ err, subscription: change.id }, 'could not revoke the binding tokens of a removed subscription'));
    });
    await subscriptions.start();
    const service = subscriptions;
    const retention = { maxLen: config.eventLogMax, maxAgeMs: config.eventLogMaxAgeMs };
    // Only a deployment whose upstream has never held a Subscription may number from 1 (epoch.ts).
    const noSubscriptionsYet = async (): Promise<boolean> => {
      const search = client.search('Subscription?_count=1', SERVICE, 1);
      const first = await search.next();
      await search.return(undefined);
      return first.done === true;
    };
    const eventLog = new EventLog({ engine, logger: logger.child({ component: 'eventlog' }), registry: service.registry, retention, noSubscriptionsYet });
    eventLog.onEpochChange(() => metrics.eventLogStateLost.inc());
    await eventLog.start();
    pipeline = new EventPipeline({
      engine,
      registry: service.registry,
      topics: service.topics,
      client,
      version: fhirVersion,
      logger,
      metrics,
      eventsChannel: producerChannel(config),
      retention,
      eventLog,
      upstreamBase: config.fhirUpstreamUrl,
      leaseMs: config.eventsStreamReclaimMs,
      stream: config.eventsStream ? { name: config.eventsStream, maxLen: config.eventsStreamMaxLen } : undefined,
    });
    await pipeline.start();
    const events = pipeline;
    if (config.eventsStream) {
      input = new StreamInput({
        engine,
        stream: config.eventsStream,
        group: config.eventsStreamGroup ?? `${config.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX}gateway`,
        reclaimIdleMs: config.eventsStreamReclaimMs,
        maxAgeMs: config.eventsStreamMaxAgeMs,
        submit: (message) => events.submit(message, 'stream'),
        logger,
        metrics,
      });
      await input.start();
    }
    if (config.catchupIntervalMs > 0) {
      catchUp = new CatchUp({
        engine,
        client,
        intervalMs: config.catchupIntervalMs,
        types: () => events.matcher.interestingTypes(),
        submit: (message) => events.submit(message, 'catchup'),
        logger,
        metrics,
      });
      await catchUp.start();
    }
    const streamInput = input;
    const catchingUp = catchUp;
    metrics.track('fsg_subscriptions_active', 'Active subscriptions in the registry', () => service.registry.size);
    metrics.track('fsg_topics', 'Subscription topics the gateway can evaluate', () => service.topics.all().length);
    metrics.track('fsg_engine_ready', 'Whether the engine is ready (1) or not (0): the Redis connections, or always 1 for the memory engine', () => (engine.isReady() ? 1 : 0));

    const base = config.fhirBasePath;
    // The public URL may depend on the port we are given, so the FHIR routes are built after
    // listening; uWS handles no request before the listen callback has returned.
    type FhirHandler = ReturnType<typeof fhirRoutes>;
    const built: { route?: FhirHandler } = {};
    const fhir: FhirHandler = (ex) => built.route!(ex);
    let ctx!: OwnedContext;
    server
      .route('get', '/healthz', 'health', healthz)
      .route('get', '/readyz', 'health', readyz({ pool, upstreamBase: config.fhirUpstreamUrl, engine, logger }))
      .route('get', '/metrics', 'metrics', metricsHandler(metrics))
      .route('any', base, 'fhir', fhir)
      .route('any', `${base}/*`, 'fhir', fhir);
    if (config.consoleEnabled) {
      const page = consoleHandler(loadConsoleAssets(), () => ({ fhirBasePath: base, fhirVersion, demo: config.demo === true, wsUrl: ctx.wsUrl }));
      server.route('get', CONSOLE_PATH, 'console', page).route('get', `${CONSOLE_PATH}/*`, 'console', page);
    }
    const reaper = new AbandonedSubscriptionReaper({ engine, registry: service.registry, client, logger, abandonedAfterMs: config.abandonedSubscriptionMs });
    const channel = new WebSocketChannel({
      engine,
      eventLog,
      registry: service.registry,
      tokens,
      metrics,
      logger,
      limits: {
        maxFrameBytes: config.wsMaxFrameBytes,
        maxBufferedBytes: config.wsMaxBufferedBytes,
        maxBindingsPerSocket: config.wsMaxBindingsPerSocket,
        maxConnections: config.wsMaxConnections,
        idleTimeoutSeconds: config.wsIdleTimeoutSeconds,
        maxBadFrames: config.wsMaxBadFrames,
      },
      presence: { intervalMs: reaper.presenceIntervalMs, report: (ids) => reaper.markBound(ids) },
      access,
    });
    channel.register(server.app);
    await channel.start();
    reaper.start();
    const port = await server.listen(config.host, config.port);
    const activity = new ActivityLog(metrics, logger, config.logSummaryIntervalMs);
    activity.start();

    const baseUrl = config.publicBaseUrl ?? `http://localhost:${port}${base}`;
    const rewriter = new UrlRewriter([config.fhirUpstreamUrl, ...config.upstreamAliases], baseUrl);
    channel.ready(baseUrl, rewriter);
    const onWrite = (write: SeenWrite) => events.fromProxy(write);
    const proxy = createProxy({ pool, upstreamBase: config.fhirUpstreamUrl, rewriter, maxBodyBytes: config.maxBodyBytes, metrics, logger, onWrite });
    ctx = {
      pool,
      client,
      upstreamPath: new URL(config.fhirUpstreamUrl).pathname.replace(/\/+$/, ''),
      rewriter,
      registry: service.registry,
      topics: service.topics,
      engine,
      eventLog,
      tokens,
      access,
      fhirVersion,
      publicBaseUrl: baseUrl,
      wsUrl: config.publicWsUrl ?? defaultWsUrl(baseUrl),
      knownResourceTypes,
      logger,
      endpoints: new EndpointChecker({ allow: parseAllowList(config.resthookAllow) }),
      maxOwnedBodyBytes: Math.min(config.maxBodyBytes, 1024 * 1024),
    };
    built.route = fhirRoutes(ctx, { basePath: base, proxy, onTopicsWritten: () => service.topicsWritten(), maxBodyBytes: config.maxBodyBytes, onWrite });
    logger.info({ port, baseUrl, upstream: config.fhirUpstreamUrl, fhirVersion, engine: engine.kind }, 'gateway listening');

    let closing: Promise<void> | undefined;
    return {
      port,
      baseUrl,
      fhirVersion,
      engine,
      metrics,
      subscriptions: service,
      pipeline: events,
      eventLog,
      tokens,
      access,
      close: () =>
        (closing ??= (async () => {
          server.stopAccepting();
          reaper.stop();
          activity.stop();
          await bestEffort(logger, 'websocket channel', () => channel.close());
          const cut = await server.drain(config.shutdownTimeoutMs);
          if (cut > 0) logger.warn({ requests: cut }, 'shutdown timeout reached; closing requests still in flight');
          // Each step runs even if an earlier one fails (Redis gone, say): a stop must release everything.
          await bestEffort(logger, 'catch-up', async () => catchingUp?.close());
          await bestEffort(logger, 'events stream', async () => streamInput?.close());
          await bestEffort(logger, 'event pipeline', () => events.close());
          eventLog.close();
          await bestEffort(logger, 'subscriptions', () => service.close());
          await bestEffort(logger, 'upstream pool', () => (cut > 0 ? pool.destroy() : pool.close()));
          server.close();
          await bestEffort(logger, 'engine', () => engine.close());
          logger.info('gateway stopped');
        })()),
    };
  } catch (err) {
    server.close();
    await bestEffort(logger, 'catch-up', async () => catchUp?.close());
    await bestEffort(logger, 'events stream', async () => input?.close());
    await bestEffort(logger, 'event pipeline', async () => pipeline?.close());
    await bestEffort(logger, 'subscriptions', async () => subscriptions?.close());
    await bestEffort(logger, 'upstream pool', () => pool.destroy());
    await bestEffort(logger, 'engine', () => engine.close());
    throw err;
  }
}

async function bestEffort(logger: Logger, what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (err) {
    logger.warn({ err }, `closing the ${what} failed; continuing shutdown`);
  }
}

/** The WebSocket endpoint on the public host: https → wss. */
function defaultWsUrl(publicBaseUrl: string): string {
  const u = new URL(publicBaseUrl);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/ws`;
}

/**
 * The producers' channel. design.md's contract names `fhir:resource-changes`, and that is what a
 * deployment with the default key prefix listens on; a deployment that sets its own
 * REDIS_KEY_PREFIX (to share a Redis with others) gets the name under that prefix, so producers of
 * one deployment never reach another. An explicit EVENTS_CHANNEL is used exactly as given.
 */
function producerChannel(config: Config): string | undefined {
  if (config.eventsChannel !== undefined) return config.eventsChannel;
  const prefix = config.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX;
  return prefix === DEFAULT_KEY_PREFIX ? DEFAULT_EVENTS_CHANNEL : undefined;
}

function engineOptions(redis: RedisConfig | undefined, commandTimeoutMs: number): EngineOptions {
  if (!redis) return {};
  const { keyPrefix } = redis;
  if (redis.url) return { redis: { url: redis.url, keyPrefix, commandTimeoutMs } };
  if (redis.sentinel) return { redis: { sentinel: redis.sentinel, keyPrefix, commandTimeoutMs } };
  if (redis.cluster) return { redis: { cluster: redis.cluster, keyPrefix, commandTimeoutMs } };
  return {};
}
