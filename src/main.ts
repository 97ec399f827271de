import { ConfigError, loadConfig } from './config.js';
import { startGateway, type Gateway } from './gateway.js';
import { createLogger } from './log.js';

// dist/ ships its source maps: stack traces in the logs then name src/ files and lines.
process.setSourceMapsEnabled(true);

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

  // Registered before anything starts: as PID 1 in a container a signal without a handler does
  // nothing, and a stop asked for while start-up still waits (for the upstream, say) must end it.
  // `npm start` execs this process, so the signal npm forwards reaches it directly.
  let demo: { url: string; close(): Promise<void> } | undefined;
  let gateway: Gateway | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, gateway ? 'shutting down' : 'stopped before start-up finished');
    // Bounded: whatever hangs, the process is gone shortly after the drain deadline.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
    Promise.resolve(gateway?.close())
      .then(() => demo?.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  if (config.demoUpstream) {
    // Loaded only here, so a production process never pulls in the demo server's dependencies.
    const { startDemoUpstream } = await import('./demo/fhir-server.js');
    const fhirVersion = config.demoFhirVersion ?? 'R4';
    demo = await startDemoUpstream({ port: 0, fhirVersion, seed: true });
    logger.warn(
      { upstream: demo.url, fhirVersion, seeded: ['Patient/example', 'Encounter/example'] },
      'started the DEMO upstream, an in-memory FHIR server whose data is lost on exit. For development only, never for production: set FHIR_UPSTREAM_URL to your FHIR server.',
    );
  }
  const upstream = config.fhirUpstreamUrl ?? demo?.url;
  if (!upstream) throw new Error('no upstream: FHIR_UPSTREAM_URL is unset and the demo upstream did not start');
  const started = await startGateway({ ...config, fhirUpstreamUrl: upstream, demo: demo !== undefined }, logger);
  if (stopping) await started.close();
  else gateway = started;
}

main().catch((err: unknown) => {
  process.stderr.write(`fhir-subscription-gateway: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
