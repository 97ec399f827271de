// Values that would deploy a gateway that breaks (or leaks a secret) are refused by helm itself:
// values.schema.json for unknown keys and wrong types, the chart's `fail` for combinations.
import { expect } from 'chai';
import { lint, renderError } from '../support/helm.js';

const UPSTREAM = { url: 'http://hapi.fhir.svc:8080/fhir' };
const TOKEN = { value: 'token-secret-of-forty-characters-0123456' };
const SIDECAR = { mode: 'sidecar', sidecar: { container: { name: 'hapi', image: 'hapiproject/hapi:v7.6.0', ports: [{ containerPort: 8080 }] } } };

const REFUSED: Array<[string, object, RegExp]> = [
  [
    'more than one replica without Redis',
    { upstream: UPSTREAM, replicaCount: 2 },
    /replicaCount is 2 but no Redis is configured: replicas share subscriptions, the event log and binding tokens only through Redis/,
  ],
  [
    'an autoscaler that may add replicas without Redis',
    { upstream: UPSTREAM, autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 3 } },
    /autoscaling.maxReplicas is 3 but no Redis is configured/,
  ],
  ['a sidecar pod with two replicas and no Redis', { ...SIDECAR, replicaCount: 2 }, /replicaCount is 2 but no Redis is configured/],
  ['Redis without a token secret', { upstream: UPSTREAM, redis: { url: 'redis://redis:6379' } }, /Redis is configured but no token secret is/],
  ['Sentinel without a token secret', { upstream: UPSTREAM, config: { redis: { sentinel: { name: 'm', sentinels: [{ host: 's', port: 26379 }] } } } }, /Redis is configured but no token secret is/],
  [
    'Redis given twice',
    { upstream: UPSTREAM, tokenSecret: TOKEN, redis: { url: 'redis://a:6379' }, config: { redis: { cluster: { nodes: [{ host: 'c', port: 6379 }] } } } },
    /Redis is configured more than once/,
  ],
  ['a Redis password beside a URL', { upstream: UPSTREAM, tokenSecret: TOKEN, redis: { url: 'redis://a:6379', password: 'pw' } }, /a Redis URL carries its own password/],
  [
    'a Sentinel password for a Cluster',
    { upstream: UPSTREAM, tokenSecret: TOKEN, redis: { sentinelPassword: 'pw' }, config: { redis: { cluster: { nodes: [{ host: 'c', port: 6379 }] } } } },
    /apply to config.redis.sentinel only/,
  ],
  ['a token secret given twice', { upstream: UPSTREAM, tokenSecret: { ...TOKEN, existingSecret: 'x' } }, /tokenSecret.value or tokenSecret.existingSecret, not both/],
  ['an HS256 secret with RS256', { upstream: UPSTREAM, tokenSecret: TOKEN, config: { tokenAlgorithm: 'RS256' } }, /tokenSecret is only used with config.tokenAlgorithm HS256, not RS256/],
  ['RS256 without its key pair', { upstream: UPSTREAM, config: { tokenAlgorithm: 'RS256' } }, /config.tokenAlgorithm RS256 needs its key pair: set tokenKeys.existingSecret/],
  ['a key pair with HS256', { upstream: UPSTREAM, tokenKeys: { existingSecret: 'keys' } }, /set config.tokenAlgorithm to RS256 or ES256/],
  ['a secret set inline through extraEnv', { upstream: UPSTREAM, extraEnv: [{ name: 'TOKEN_SECRET', value: 'x'.repeat(40) }] }, /extraEnv must not set TOKEN_SECRET/],
  ['the upstream set through extraEnv', { upstream: UPSTREAM, extraEnv: [{ name: 'FHIR_UPSTREAM_URL', value: 'http://other/fhir' }] }, /extraEnv must not set FHIR_UPSTREAM_URL/],
  ['standalone without an upstream', {}, /mode standalone needs upstream.url/],
  ['standalone with a sidecar container', { upstream: UPSTREAM, sidecar: SIDECAR.sidecar }, /sidecar.container and sidecar.embedded are for mode sidecar/],
  ['sidecar without the FHIR server container', { mode: 'sidecar' }, /mode sidecar needs sidecar.container/],
  ['sidecar with an upstream URL', { ...SIDECAR, upstream: UPSTREAM }, /mode sidecar reaches the FHIR server on localhost/],
  ['sidecar without a known FHIR port', { mode: 'sidecar', sidecar: { container: { name: 'hapi', image: 'h:1' } } }, /mode sidecar needs the FHIR server's port/],
  ['sidecar on the gateway port', { ...SIDECAR, containerPort: 8080 }, /sidecar.container uses port 8080, which is containerPort/],
  ['sidecar container named gateway', { mode: 'sidecar', sidecar: { container: { name: 'gateway', image: 'h:1' }, port: 9000 } }, /sidecar.container.name must not be gateway/],
  [
    'a grace period shorter than the drain',
    { upstream: UPSTREAM, config: { shutdownTimeoutMs: 30000 }, terminationGracePeriodSeconds: 30 },
    /terminationGracePeriodSeconds \(30\) must exceed config.shutdownTimeoutMs in seconds plus 5 \(35\)/,
  ],
  ['an Ingress without hosts', { upstream: UPSTREAM, ingress: { enabled: true } }, /ingress.enabled needs at least one entry in ingress.hosts/],
  ['a PodDisruptionBudget with both bounds', { upstream: UPSTREAM, podDisruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } }, /set minAvailable or maxUnavailable, not both/],
  ['topics given twice', { upstream: UPSTREAM, topics: { 'a.json': '{}' }, existingTopicsConfigMap: 'mine' }, /Set topics or existingTopicsConfigMap, not both/],
  [
    'embedded with an Ingress',
    { mode: 'sidecar', sidecar: { embedded: true, port: 8080 }, containerPort: 8081, ingress: { enabled: true, hosts: [{ host: 'a' }] } },
    /sidecar.embedded: the parent chart owns the pod and its Service, so ingress.enabled/,
  ],
  ['embedded without the FHIR port', { mode: 'sidecar', sidecar: { embedded: true } }, /sidecar.embedded needs sidecar.port/],
];

// The schema's messages name the offending path; helm prints them one per line.
const INVALID: Array<[string, object, RegExp]> = [
  ['an unknown top-level key', { upstream: UPSTREAM, replicas: 2 }, /Additional property replicas is not allowed/],
  ['an unknown config key', { upstream: UPSTREAM, config: { logLevl: 'debug' } }, /config: Additional property logLevl is not allowed/],
  ['a secret in the config file', { upstream: UPSTREAM, config: { tokenSecret: 'x'.repeat(40) } }, /config: Additional property tokenSecret is not allowed/],
  ['the upstream authorization in the config file', { upstream: UPSTREAM, config: { upstreamAuthorization: 'Bearer x' } }, /Additional property upstreamAuthorization is not allowed/],
  ['a Redis URL in the config file', { upstream: UPSTREAM, config: { redis: { url: 'redis://r:6379' } } }, /config.redis: Additional property url is not allowed/],
  [
    'a Sentinel password in the config file',
    { upstream: UPSTREAM, config: { redis: { sentinel: { name: 'm', sentinels: [{ host: 's', port: 1 }], password: 'pw' } } } },
    /sentinel: Additional property password is not allowed/,
  ],
  ['a port the chart owns in the config file', { upstream: UPSTREAM, config: { port: 9000 } }, /config: Additional property port is not allowed/],
  ['a replica count that is not a number', { upstream: UPSTREAM, replicaCount: 'three' }, /replicaCount: Invalid type. Expected: integer, given: string/],
  ['an unknown mode', { upstream: UPSTREAM, mode: 'daemonset' }, /mode: mode must be one of the following: "standalone", "sidecar"/],
  ['a config value out of the gateway range', { upstream: UPSTREAM, config: { wsIdleTimeoutSeconds: 2 } }, /wsIdleTimeoutSeconds: Must be greater than or equal to 8/],
  ['a short token secret', { upstream: UPSTREAM, tokenSecret: { value: 'short' } }, /tokenSecret.value/],
  ['an upstream URL that is not one', { upstream: { url: 'hapi:8080' } }, /upstream.url: Does not match pattern/],
  ['a privileged gateway', { upstream: UPSTREAM, securityContext: { privileged: true } }, /securityContext: Additional property privileged is not allowed/],
  ['added capabilities', { upstream: UPSTREAM, securityContext: { capabilities: { add: ['NET_ADMIN'] } } }, /securityContext: Additional property capabilities is not allowed/],
  ['root', { upstream: UPSTREAM, securityContext: { runAsUser: 0 } }, /runAsUser: Must be greater than or equal to 1/],
  ['a topic file name that is not JSON', { upstream: UPSTREAM, topics: { 'topic.yaml': '{}' } }, /topics/],
  ['a sidecar container without an image', { mode: 'sidecar', sidecar: { container: { name: 'hapi' } } }, /sidecar.container/],
];

describe('helm chart: refused values', function () {
  this.timeout(60_000);

  for (const [name, values, message] of REFUSED) {
    it(`refuses ${name}`, () => {
      expect(renderError(values)).to.match(message);
    });
  }

  for (const [name, values, message] of INVALID) {
    it(`refuses ${name} by schema, in template and lint`, () => {
      expect(renderError(values)).to.match(message);
      const linted = lint(values);
      expect(linted.status).to.not.equal(0);
      expect(linted.stdout + linted.stderr).to.match(message);
    });
  }
});
