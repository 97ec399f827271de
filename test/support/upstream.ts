import { startDemoUpstream, type DemoUpstreamOptions } from '../../src/demo/fhir-server.js';
import type { DemoUpstream } from '../../src/demo/fhir-server.js';

export type { DemoUpstream };

/** The demo FHIR server on a free loopback port; close() it when done. */
export function startUpstream(opts: Omit<DemoUpstreamOptions, 'port'> = {}): Promise<DemoUpstream> {
  return startDemoUpstream({ ...opts, port: 0 });
}
