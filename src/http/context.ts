import type { Pool } from 'undici';
import type { DeliveryAccess } from '../access/delivery-access.js';
import type { FhirVersion } from '../config.js';
import type { EndpointChecker } from '../channels/resthook-endpoint.js';
import type { BindingTokens } from '../channels/tokens.js';
import type { Engine } from '../engine/engine.js';
import type { EventLog } from '../eventlog/index.js';
import type { Logger } from '../log.js';
import type { SubscriptionRegistry } from '../subscriptions/registry.js';
import type { TopicRegistry } from '../topics/registry.js';
import type { UpstreamClient } from '../upstream/fhir-client.js';
import type { UrlRewriter } from '../upstream/rewrite.js';

/** What the FHIR operations the gateway owns need; built once by the gateway. */
export interface OwnedContext {
  pool: Pool;
  client: UpstreamClient;
  /** The upstream's FHIR base path, e.g. /fhir, that relative FHIR paths are appended to. */
  upstreamPath: string;
  rewriter: UrlRewriter;
  registry: SubscriptionRegistry;
  topics: TopicRegistry;
  engine: Engine;
  /** Counts and events of subscriptions ($status, $events). */
  eventLog: EventLog;
  /** Issues and revokes WebSocket binding tokens ($get-ws-binding-token). */
  tokens: BindingTokens;
  /** DELIVERY_AUTHORIZATION=upstream; absent with none. */
  access?: DeliveryAccess | undefined;
  fhirVersion: FhirVersion;
  publicBaseUrl: string;
  wsUrl: string;
  knownResourceTypes?: ReadonlySet<string>;
  logger: Logger;
  /** The rest-hook endpoint rule (RESTHOOK_ALLOW), applied wherever an endpoint is stored. */
  endpoints: EndpointChecker;
  /** Largest body the gateway reads itself (Subscriptions, Parameters). */
  maxOwnedBodyBytes: number;
}
