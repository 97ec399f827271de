import type { Engine } from '../engine/engine.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { UpstreamClient } from '../upstream/fhir-client.js';
import { CredentialStore } from './credentials.js';
import type { DeliveryAccess, DeliveryAuthorizationMode } from './delivery-access.js';
import { Visibility } from './visibility.js';

/**
 * Builds delivery authorization for the configured mode; undefined (and a warning) for `none`.
 * keyMaterial: the binding-token secret or private key, which every replica holds and no client does.
 */
export function deliveryAccess(
  mode: DeliveryAuthorizationMode,
  deps: { engine: Engine; client: UpstreamClient; metrics: Metrics; logger: Logger; keyMaterial: string; timeoutMs: number },
): DeliveryAccess | undefined {
  if (mode === 'none') {
    deps.logger.warn(
      'DELIVERY_AUTHORIZATION=none: notifications carry resources without asking the FHIR server whether each subscriber may read them; use this only with an upstream that has no per-user access control',
    );
    return undefined;
  }
  return {
    credentials: new CredentialStore(deps.engine, deps.keyMaterial),
    metrics: deps.metrics,
    visibility: new Visibility({ client: deps.client, metrics: deps.metrics, logger: deps.logger.child({ component: 'delivery-authorization' }), timeoutMs: deps.timeoutMs }),
  };
}
