// The chart rendered by the real helm for each mode and a matrix of values: lint passes, every
// manifest is valid for its Kubernetes kind, the pod holds the invariants, and the gateway accepts
// the configuration it is given.
import { expect } from 'chai';
import { find, lint, only, render, type Manifest } from '../support/helm.js';
import { assertInvariants, envOf, gatewayOf, gatewayView, podOf } from './invariants.js';

const UPSTREAM = 'http://hapi.fhir.svc:8080/fhir';
const TOKEN = 'token-secret-of-forty-characters-0123456';

const TOPIC = {
  resourceType: 'SubscriptionTopic',
  id: 'encounter-start',
  url: 'https://example.org/fhir/SubscriptionTopic/encounter-start',
  status: 'active',
  resourceTrigger: [
    {
      resource: 'Encounter',
      supportedInteraction: ['create', 'update'],
      queryCriteria: { current: 'status=in-progress', resultForCreate: 'test-passes', resultForDelete: 'test-fails', requireBoth: false },
    },
  ],
  canFilterBy: [{ resource: 'Encounter', filterParameter: 'patient' }],
};

const HAPI = { name: 'hapi', image: 'hapiproject/hapi:v7.6.0', ports: [{ name: 'fhir', containerPort: 8080 }], env: [{ name: 'hapi.fhir.server_address', value: 'http://localhost:8080/fhir' }] };

const sentinel = {
  sentinels: [
    { host: 'sentinel-0.redis', port: 26379 },
    { host: 'sentinel-1.redis', port: 26379 },
  ],
  name: 'mymaster',
};
const cluster = { nodes: [{ host: 'cluster-0.redis', port: 6379 }], tls: true };

interface Case {
  values: object;
  check?: (manifests: Manifest[], view: ReturnType<typeof gatewayView>) => void;
}

const kinds = (ms: Manifest[]) => ms.map((m) => m.kind).sort();

const CASES: Record<string, Case> = {
  'standalone, one replica on the memory engine': {
    values: { upstream: { url: UPSTREAM } },
    check: (ms, view) => {
      expect(kinds(ms)).to.deep.equal(['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
      expect(view.config.fhirUpstreamUrl).to.equal(UPSTREAM);
      expect(view.config.redis).to.equal(undefined);
      const spec = (only(ms, 'Deployment') as unknown as { spec: { strategy: { type: string }; template: { spec: { enableServiceLinks: boolean } } } }).spec;
      expect(spec.strategy.type, 'never two pods with different in-memory state').to.equal('Recreate');
      expect(spec.template.spec.enableServiceLinks).to.equal(false);
      expect(view.config.publicBaseUrl, 'what in-cluster clients use, not localhost').to.equal('http://gw-fhir-subscription-gateway.fhir.svc/fhir');
      expect(envOf(gatewayOf(podOf(only(ms, 'Deployment'))), 'TOPICS_DIR'), 'the image keeps its own topics').to.equal(undefined);
      const service = only(ms, 'Service') as unknown as { spec: { ports: { targetPort: string; port: number }[] } };
      expect(service.spec.ports).to.deep.include({ name: 'http', port: 80, targetPort: 'gateway', protocol: 'TCP' });
    },
  },
  'standalone, Redis URL and secrets inline (the chart renders the Secret)': {
    values: { upstream: { url: UPSTREAM, authorization: 'Bearer upstream-token' }, replicaCount: 3, redis: { url: 'redis://:redis-pw@redis.fhir:6379/0' }, tokenSecret: { value: TOKEN } },
    check: (ms, view) => {
      expect(Object.keys((only(ms, 'Secret') as unknown as { data: object }).data).sort()).to.deep.equal(['FHIR_UPSTREAM_AUTHORIZATION', 'REDIS_URL', 'TOKEN_SECRET']);
      expect(view.config.redis?.url).to.equal('redis://:redis-pw@redis.fhir:6379/0');
      expect(view.config.tokenSecret).to.equal(TOKEN);
      expect(view.config.upstreamAuthorization).to.equal('Bearer upstream-token');
      const spec = (only(ms, 'Deployment') as unknown as { spec: { replicas: number; strategy: object } }).spec;
      expect(spec.replicas).to.equal(3);
      expect(spec.strategy, 'every replica keeps serving during a rollout').to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    },
  },
  'standalone, existing Secrets for Redis, the token and the upstream': {
    values: {
      upstream: { url: UPSTREAM, existingSecret: 'upstream-auth', existingSecretKey: 'authorization' },
      replicaCount: 2,
      redis: { existingSecret: 'redis-conn', existingSecretKey: 'url' },
      tokenSecret: { existingSecret: 'gw-token' },
    },
    check: (ms, view) => {
      expect(find(ms, 'Secret'), 'nothing secret in the release').to.deep.equal([]);
      const gw = gatewayOf(podOf(only(ms, 'Deployment')));
      expect(envOf(gw, 'REDIS_URL')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'redis-conn', key: 'url' } });
      expect(envOf(gw, 'TOKEN_SECRET')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'gw-token', key: 'TOKEN_SECRET' } });
      expect(envOf(gw, 'FHIR_UPSTREAM_AUTHORIZATION')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'upstream-auth', key: 'authorization' } });
      expect(view.config.redis?.url).to.equal('redis://redis.example:6379/0');
    },
  },
  'Redis Sentinel from the config file, passwords from an existing Secret': {
    values: {
      upstream: { url: UPSTREAM },
      replicaCount: 2,
      tokenSecret: { existingSecret: 'gw-token' },
      config: { redis: { sentinel } },
      redis: { passwordSecret: { name: 'redis-pw', passwordKey: 'password', sentinelPasswordKey: 'sentinel-password' } },
    },
    check: (ms, view) => {
      const gw = gatewayOf(podOf(only(ms, 'Deployment')));
      expect(envOf(gw, 'REDIS_PASSWORD')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'redis-pw', key: 'password' } });
      expect(envOf(gw, 'REDIS_SENTINEL_PASSWORD')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'redis-pw', key: 'sentinel-password' } });
      expect(view.config.redis?.sentinel).to.deep.include({ name: 'mymaster', password: 'existing-redis-password', sentinelPassword: 'existing-sentinel-password' });
      expect(view.config.redis?.sentinel?.sentinels).to.have.length(2);
    },
  },
  'Redis Sentinel with inline passwords': {
    values: {
      upstream: { url: UPSTREAM },
      replicaCount: 2,
      tokenSecret: { value: TOKEN },
      config: { redis: { sentinel, keyPrefix: 'gw-a:' } },
      redis: { password: 'master-pw-123', sentinelPassword: 'sentinel-pw-456' },
    },
    check: (ms, view) => {
      expect(view.config.redis?.sentinel).to.deep.include({ password: 'master-pw-123', sentinelPassword: 'sentinel-pw-456' });
      expect(view.config.redis?.keyPrefix).to.equal('gw-a:');
      const configMap = find(ms, 'ConfigMap')
        .map((c) => JSON.stringify(c))
        .join();
      expect(configMap).to.include('mymaster').and.not.include('pw-');
    },
  },
  'Redis Cluster with an HorizontalPodAutoscaler': {
    values: {
      upstream: { url: UPSTREAM },
      tokenSecret: { value: TOKEN },
      config: { redis: { cluster } },
      redis: { password: 'cluster-pw-789' },
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 },
    },
    check: (ms, view) => {
      expect(view.config.redis?.cluster).to.deep.include({ password: 'cluster-pw-789', tls: true });
      const hpa = only(ms, 'HorizontalPodAutoscaler') as unknown as { spec: { minReplicas: number; maxReplicas: number; scaleTargetRef: { name: string } } };
      expect(hpa.spec).to.deep.include({ minReplicas: 2, maxReplicas: 8 });
      expect(hpa.spec.scaleTargetRef.name).to.equal(only(ms, 'Deployment').metadata.name);
      expect((only(ms, 'Deployment') as unknown as { spec: { replicas?: number } }).spec.replicas, 'the HPA owns the replica count').to.equal(undefined);
    },
  },
  'ES256 binding tokens from a key pair in an existing Secret, on Redis': {
    values: { upstream: { url: UPSTREAM }, replicaCount: 2, redis: { existingSecret: 'redis-conn' }, tokenKeys: { existingSecret: 'token-keys' }, config: { tokenAlgorithm: 'ES256' } },
    check: (ms, view) => {
      expect(view.config.tokenAlgorithm).to.equal('ES256');
      expect(view.config.tokenPrivateKey).to.match(/BEGIN PRIVATE KEY/);
      const pod = podOf(only(ms, 'Deployment'));
      expect(pod.volumes!.find((v) => v.name === 'fsg-token-keys')?.secret?.secretName).to.equal('token-keys');
      expect(envOf(gatewayOf(pod), 'TOKEN_SECRET')).to.equal(undefined);
    },
  },
  'every optional object on: HPA, PDB, ServiceMonitor, NetworkPolicy, Ingress with TLS, topics': {
    values: {
      upstream: { url: UPSTREAM },
      redis: { existingSecret: 'redis-conn' },
      tokenSecret: { existingSecret: 'gw-token' },
      config: { fhirBasePath: '/fhir/r4', logLevel: 'debug' },
      extraEnv: [
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=384' },
        { name: 'EVENT_LOG_MAX', value: '2000' },
      ],
      extraVolumes: [{ name: 'ca', configMap: { name: 'ca-bundle' } }],
      extraVolumeMounts: [{ name: 'ca', mountPath: '/etc/ssl/custom', readOnly: true }],
      topics: { 'encounter-start.json': TOPIC, 'as-text.json': JSON.stringify({ ...TOPIC, id: 'text', url: 'https://example.org/fhir/SubscriptionTopic/text' }) },
      autoscaling: { enabled: true, maxReplicas: 4 },
      podDisruptionBudget: { enabled: true },
      serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
      networkPolicy: {
        enabled: true,
        ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
        egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
      },
      ingress: { enabled: true, className: 'nginx', hosts: [{ host: 'fhir.example.org' }], tls: [{ secretName: 'fhir-tls', hosts: ['fhir.example.org'] }] },
    },
    check: (ms, view) => {
      expect(kinds(ms)).to.deep.equal([
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ]);
      expect(view.topics.map((t) => t.url).sort()).to.deep.equal([TOPIC.url, 'https://example.org/fhir/SubscriptionTopic/text']);
      expect(view.warnings).to.equal(0);
      expect(view.config.fhirBasePath).to.equal('/fhir/r4');
      expect(view.config.eventLogMax, 'extraEnv reaches the gateway').to.equal(2000);
      const pod = podOf(only(ms, 'Deployment'));
      expect(pod.volumes!.find((v) => v.name === 'ca')?.configMap).to.deep.equal({ name: 'ca-bundle' });
      expect(gatewayOf(pod).volumeMounts).to.deep.include({ name: 'ca', mountPath: '/etc/ssl/custom', readOnly: true });
      expect(view.config.publicBaseUrl, 'derived from the Ingress host and its TLS').to.equal('https://fhir.example.org/fhir/r4');

      const ingress = only(ms, 'Ingress') as unknown as { metadata: { annotations: Record<string, string> }; spec: { rules: { http: { paths: { path: string }[] } }[] } };
      expect(ingress.metadata.annotations).to.include({ 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600', 'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600' });
      expect(
        ingress.spec.rules[0]!.http.paths.map((p) => p.path),
        'metrics and probes stay inside',
      ).to.deep.equal(['/fhir/r4', '/ws']);

      const sm = only(ms, 'ServiceMonitor') as unknown as {
        metadata: { labels: Record<string, string> };
        spec: { endpoints: { port: string; path: string }[]; selector: { matchLabels: Record<string, string> } };
      };
      expect(sm.metadata.labels.release).to.equal('prometheus');
      expect(sm.spec.endpoints).to.deep.include({ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' });
      const service = only(ms, 'Service') as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string }[] } };
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(service.metadata.labels[k], `ServiceMonitor selects the Service by ${k}`).to.equal(v);
      expect(service.spec.ports.map((p) => p.name)).to.include('http');

      const np = only(ms, 'NetworkPolicy') as unknown as { spec: { policyTypes: string[]; ingress: { ports: { port: string }[] }[]; egress: { ports?: { port: number }[] }[] } };
      expect(np.spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
      expect(np.spec.ingress[0]!.ports).to.deep.equal([{ port: 'gateway', protocol: 'TCP' }]);
      expect(
        np.spec.egress[0]!.ports!.map((p) => p.port),
        'DNS stays reachable',
      ).to.deep.equal([53, 53]);
      const pdb = only(ms, 'PodDisruptionBudget') as unknown as { spec: { maxUnavailable: number } };
      expect(pdb.spec.maxUnavailable).to.equal(1);
    },
  },
  'sidecar beside the FHIR server, with its volumes and init containers': {
    values: {
      mode: 'sidecar',
      containerPort: 8081,
      sidecar: { container: HAPI, volumes: [{ name: 'hapi-data', emptyDir: {} }], initContainers: [{ name: 'wait-db', image: 'busybox:1.36', command: ['true'] }] },
      topics: { 'encounter-start.json': TOPIC },
    },
    check: (ms, view) => {
      const pod = podOf(only(ms, 'Deployment')) as ReturnType<typeof podOf> & { initContainers: { name: string }[] };
      expect(pod.containers.map((c) => c.name)).to.deep.equal(['hapi', 'gateway']);
      expect(pod.containers[0]).to.deep.equal(HAPI);
      expect(pod.initContainers.map((c) => c.name)).to.deep.equal(['wait-db']);
      expect(pod.volumes!.map((v) => v.name)).to.include('hapi-data');
      expect(envOf(gatewayOf(pod), 'FHIR_UPSTREAM_URL')?.value).to.equal('http://localhost:8080/fhir');
      expect(view.config.fhirUpstreamUrl).to.equal('http://localhost:8080/fhir');
      expect(view.config.port).to.equal(8081);
      expect(view.config.upstreamWaitMs, 'waits for a FHIR server starting beside it').to.equal(600_000);
      expect(view.topics).to.have.length(1);
    },
  },
  'sidecar with Redis and two replicas, port and path given': {
    values: {
      mode: 'sidecar',
      replicaCount: 2,
      service: { port: 8080 },
      sidecar: { container: { name: 'fhir', image: 'example/fhir:1' }, port: 9090, upstreamPath: '/baseR4/' },
      redis: { url: 'rediss://redis.example:6380' },
      tokenSecret: { value: TOKEN },
      config: { upstreamWaitMs: 120000 },
    },
    check: (ms, view) => {
      expect(view.config.fhirUpstreamUrl).to.equal('http://localhost:9090/baseR4');
      expect(view.config.upstreamWaitMs).to.equal(120_000);
      expect(view.config.publicBaseUrl).to.equal('http://gw-fhir-subscription-gateway.fhir.svc:8080/fhir');
      expect(view.config.redis?.url).to.equal('rediss://redis.example:6380');
    },
  },
};

describe('helm chart: rendering', function () {
  this.timeout(60_000);

  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const linted = lint(c.values);
      expect(linted.status, linted.stdout + linted.stderr).to.equal(0);
      const manifests = render(c.values);
      assertInvariants(manifests);
      const view = gatewayView(manifests);
      c.check?.(manifests, view);
    });
  }

  it('rolls the pods when the config, the topics or the chart Secret change', () => {
    const annotations = (values: object) =>
      (only(render(values), 'Deployment') as unknown as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations;
    const base = annotations({ upstream: { url: UPSTREAM } });
    expect(annotations({ upstream: { url: UPSTREAM }, config: { logLevel: 'debug' } })['checksum/config']).to.not.equal(base['checksum/config']);
    expect(annotations({ upstream: { url: UPSTREAM }, topics: { 'a.json': TOPIC } })['checksum/topics']).to.not.equal(base['checksum/topics']);
    expect(annotations({ upstream: { url: UPSTREAM, authorization: 'Bearer b' } })['checksum/secret']).to.not.equal(base['checksum/secret']);
  });
});
