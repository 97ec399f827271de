import type { FhirVersion } from '../config.js';
import { fhirVersionFromCapability } from '../fhir/versions.js';
import type { Logger } from '../log.js';
import { SERVICE, type UpstreamClient } from './fhir-client.js';

/**
 * The upstream's FHIR version from its CapabilityStatement. In a pod the upstream may start after
 * the gateway, so this waits for it up to waitMs before giving up with a message that says what
 * to do.
 */
export async function detectFhirVersion(client: UpstreamClient, waitMs: number, logger: Logger): Promise<FhirVersion> {
  const deadline = Date.now() + waitMs;
  let lastProblem: string;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await client.request('GET', 'metadata', SERVICE);
      if (res.status === 200) {
        const version = fhirVersionFromCapability(res.body);
        if (version) return version;
        const declared = (res.body as { fhirVersion?: unknown } | undefined)?.fhirVersion;
        throw new Error(`the upstream's CapabilityStatement declares fhirVersion ${JSON.stringify(declared)}, which the gateway does not serve; set FHIR_VERSION to R4, R4B or R5`);
      }
      lastProblem = `metadata answered ${res.status}`;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("the upstream's CapabilityStatement")) throw err;
      lastProblem = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`cannot read the upstream's FHIR version (${lastProblem}); set FHIR_VERSION, or make FHIR_UPSTREAM_URL reachable`);
    }
    if (attempt === 0) logger.warn({ problem: lastProblem }, 'waiting for the upstream FHIR server');
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))));
  }
}
