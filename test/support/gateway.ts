import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';

/**
 * A gateway in this process, configured the way an operator would: through environment
 * variables (PORT=0 picks a free port). LOG_LEVEL defaults to silent to keep test output readable.
 */
export async function startTestGateway(env: Record<string, string>): Promise<Gateway> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...env });
  if (!config.fhirUpstreamUrl) throw new Error('startTestGateway needs FHIR_UPSTREAM_URL');
  return startGateway({ ...config, fhirUpstreamUrl: config.fhirUpstreamUrl }, createLogger(config.logLevel));
}
