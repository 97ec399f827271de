import { ConfigError, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`fhir-subscription-gateway: configuration error: ${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { format: config.logFormat });

  let demo: { url: string; close(): Promise<void> } | undefined;
  if (!config.fhirUpstreamUrl) {
    // Loaded only here, so a production process never pulls in the demo server's dependencies.
    const { startDemoUpstream } = await import('./demo/fhir-server.js');
    demo = await startDemoUpstream({ port: 0 });
    logger.warn(
      { upstream: demo.url },
      'FHIR_UPSTREAM_URL is not set: started the DEMO upstream, an in-memory FHIR server whose data is lost on exit. For development only, never for production: set FHIR_UPSTREAM_URL to your FHIR server.',
    );
  }
  const gateway = await startGateway({ ...config, fhirUpstreamUrl: config.fhirUpstreamUrl ?? demo?.url ?? "", demo: demo !== undefined }, logger);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Bounded: whatever hangs, the process is gone shortly after the drain deadline.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
    gateway
      .close()
      .then(() => demo?.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fhir-subscription-gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
