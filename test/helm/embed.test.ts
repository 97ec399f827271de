// Another chart adds the gateway to its own pod through the named templates the chart README
// documents; the shipped examples render; NOTES.txt tells the operator where the gateway is.
import { expect } from 'chai';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART, find, helm, lint, only, render, renderNotes, scratchPath } from '../support/helm.js';
import { assertInvariants, envOf, gatewayOf, gatewayView, podOf } from './invariants.js';

/** A FHIR server's chart with the gateway chart as a dependency in its charts/ folder. */
function parentChart(gatewayValues: object): string {
  const dir = scratchPath('parent');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  // As `helm dependency build` leaves it: the packaged chart in charts/.
  const packaged = helm(['package', CHART, '--destination', join(dir, 'charts')]);
  if (packaged.status !== 0) throw new Error(`helm package failed: ${packaged.stderr}`);
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: my-fhir-server\nversion: 1.0.0\ndependencies:\n  - name: fhir-subscription-gateway\n    version: 0.1.0\n');
  writeFileSync(join(dir, 'values.yaml'), JSON.stringify({ 'fhir-subscription-gateway': gatewayValues }));
  // What the chart README tells a parent chart to write.
  writeFileSync(
    join(dir, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-fhir
spec:
  selector:
    matchLabels: {app: fhir}
  template:
    metadata:
      labels: {app: fhir}
      annotations:
        {{- include "fhir-subscription-gateway.checksums" (index .Subcharts "fhir-subscription-gateway") | nindent 8 }}
    spec:
      containers:
        - name: fhir
          image: example/fhir:1
          ports: [{containerPort: 8080}]
        {{- include "fhir-subscription-gateway.container" (index .Subcharts "fhir-subscription-gateway") | nindent 8 }}
      volumes:
        - name: data
          emptyDir: {}
        {{- include "fhir-subscription-gateway.volumes" (index .Subcharts "fhir-subscription-gateway") | nindent 8 }}
`,
  );
  return dir;
}

describe('helm chart: embedded in another chart, examples, notes', function () {
  this.timeout(60_000);

  it('adds the gateway container and its volumes to a parent chart pod, and renders only what they refer to', () => {
    const chart = parentChart({
      mode: 'sidecar',
      containerPort: 8081,
      sidecar: { embedded: true, port: 8080, upstreamPath: '/fhir' },
      redis: { url: 'redis://redis:6379' },
      tokenSecret: { value: 't'.repeat(40) },
      topics: { 'a.json': { resourceType: 'SubscriptionTopic', url: 'https://example.org/t/a', status: 'active', resourceTrigger: [{ resource: 'Patient' }] } },
    });
    const linted = lint({}, chart);
    expect(linted.status, linted.stdout).to.equal(0);
    const manifests = render({}, chart, 'rel');
    expect(manifests.map((m) => m.kind).sort()).to.deep.equal(['ConfigMap', 'ConfigMap', 'Deployment', 'Secret']);
    const deployment = only(manifests, 'Deployment');
    expect(deployment.metadata.name).to.equal('rel-fhir');
    const pod = podOf(deployment);
    expect(pod.containers.map((c) => c.name)).to.deep.equal(['fhir', 'gateway']);
    expect(pod.volumes!.map((v) => v.name)).to.deep.equal(['data', 'fsg-tmp', 'fsg-config', 'fsg-topics']);
    expect(envOf(gatewayOf(pod), 'FHIR_UPSTREAM_URL')?.value).to.equal('http://localhost:8080/fhir');
    assertInvariants(manifests, pod);
    const view = gatewayView(manifests, pod);
    expect(view.config.redis?.url).to.equal('redis://redis:6379');
    expect(view.config.publicBaseUrl, "the parent's Service is not known here").to.equal(undefined);
    expect(view.topics).to.have.length(1);
    expect((deployment as unknown as { spec: { template: { metadata: { annotations: object } } } }).spec.template.metadata.annotations).to.have.keys(
      'checksum/config',
      'checksum/topics',
      'checksum/secret',
    );
  });

  it('applies the same refusals to a parent chart', () => {
    const chart = parentChart({ mode: 'sidecar', sidecar: { embedded: true, port: 8080 }, containerPort: 8081, replicaCount: 2 });
    expect(() => render({}, chart)).to.throw(/replicaCount is 2 but no Redis is configured/);
  });

  const examples = join(CHART, 'examples');
  for (const file of readdirSync(examples).filter((f) => f.endsWith('.yaml'))) {
    it(`renders examples/${file}`, () => {
      const values = parse(readFileSync(join(examples, file), 'utf8')) as object;
      const linted = lint(values);
      expect(linted.status, linted.stdout).to.equal(0);
      const manifests = render(values);
      assertInvariants(manifests);
      const view = gatewayView(manifests);
      expect(view.warnings, 'every example topic loads').to.equal(0);
      if (/redis/.test(file)) expect(view.config.redis, 'Redis is configured').to.not.equal(undefined);
      if (file === 'redis-sentinel.yaml') expect(view.config.redis?.sentinel?.password).to.be.a('string');
      if (file === 'redis-cluster.yaml') expect(view.config.redis?.cluster?.nodes).to.have.length(3);
      expect(find(manifests, 'Deployment')).to.have.length(1);
    });
  }

  it('notes say where the gateway proxies to and how to reach it', () => {
    const standalone = renderNotes({ upstream: { url: 'http://hapi.fhir.svc:8080/fhir' } });
    expect(standalone).to.include('fhir-subscription-gateway (standalone) proxies http://hapi.fhir.svc:8080/fhir');
    expect(standalone).to.include('kubectl --namespace fhir port-forward service/gw-fhir-subscription-gateway 8080:80');
    expect(standalone).to.include('in memory (one replica');
    expect(standalone).to.include('Responses and binding tokens name http://gw-fhir-subscription-gateway.fhir.svc/fhir');
    const sidecar = renderNotes({
      mode: 'sidecar',
      containerPort: 8081,
      sidecar: { container: { name: 'hapi', image: 'h:1', ports: [{ containerPort: 8080 }] } },
      ingress: { enabled: true, hosts: [{ host: 'fhir.example.org' }], tls: [{ secretName: 't', hosts: ['fhir.example.org'] }] },
    });
    expect(sidecar).to.include('proxies http://localhost:8080/fhir (the hapi container in the same pod)');
    expect(sidecar).to.include('FHIR base URL:  https://fhir.example.org/fhir').and.include('WebSocket:      wss://fhir.example.org/ws');
  });
});
