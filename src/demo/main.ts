import { createLogger } from '../log.js';
import { startDemoUpstream } from './fhir-server.js';
import type { DemoUpstream } from './fhir-server.js';

const log = createLogger();

const rawPort = process.env.DEMO_UPSTREAM_PORT || '8103';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  log.fatal({ DEMO_UPSTREAM_PORT: rawPort }, 'DEMO_UPSTREAM_PORT must be a port number (0-65535)');
  process.exit(1);
}

const fhirVersion = process.env.DEMO_FHIR_VERSION || 'R4';
if (fhirVersion !== 'R4' && fhirVersion !== 'R4B' && fhirVersion !== 'R5') {
  log.fatal({ DEMO_FHIR_VERSION: fhirVersion }, 'DEMO_FHIR_VERSION must be one of R4, R4B, R5');
  process.exit(1);
}

let upstream: DemoUpstream;
try {
  upstream = await startDemoUpstream({ port, host: process.env.DEMO_UPSTREAM_HOST || '127.0.0.1', fhirVersion, seed: true });
} catch (err) {
  log.fatal({ err }, 'demo upstream failed to start');
  process.exit(1);
}

log.warn(
  'DEMO UPSTREAM: an in-memory FHIR server (Medplum fhir-router); every resource is lost on exit. ' +
    'For development and tests only. NEVER use it in production: set FHIR_UPSTREAM_URL to a real FHIR server.',
);
log.info({ url: upstream.url, fhirVersion, seeded: ['Patient/example', 'Encounter/example'] }, 'demo upstream listening');

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    return;
  }
  stopping = true;
  log.info({ signal }, 'demo upstream stopping');
  await upstream.close();
  process.exit(0);
}
process.on('SIGTERM', (signal) => void stop(signal));
process.on('SIGINT', (signal) => void stop(signal));
