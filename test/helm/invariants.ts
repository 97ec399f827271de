// What every rendering of the chart must hold, asserted on the manifests `helm template` printed:
// the pod's hardening, its probes, where secrets come from, and that the config and topics the
// gateway is pointed at are mounted there and are what the gateway itself accepts.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { loadTopicDir } from '../../src/topics/load.js';
import type { Topic } from '../../src/topics/topic.js';
import { find, only, scratchPath, type Manifest } from '../support/helm.js';
import { validateManifest } from '../support/kubernetes.js';

export const SECRET_ENV = ['TOKEN_SECRET', 'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'FHIR_UPSTREAM_AUTHORIZATION'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; configMap?: { name: string }; secret?: { secretName: string } }[];
}

export const podOf = (deployment: Manifest): PodSpec => (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
export const gatewayOf = (pod: PodSpec): Container => {
  const c = pod.containers.find((x) => x.name === 'gateway');
  if (!c) throw new Error(`no gateway container among ${pod.containers.map((x) => x.name).join(', ')}`);
  return c;
};
export const envOf = (c: Container, name: string): EnvVar | undefined => c.env?.find((e) => e.name === name);

const dataOf = (m: Manifest): Record<string, string> => (m as unknown as { data?: Record<string, string> }).data ?? {};

/** Values standing in for what an existing Secret (one the chart does not render) holds. */
const EXISTING: Record<string, string> = {
  TOKEN_SECRET: 's'.repeat(40),
  REDIS_URL: 'redis://redis.example:6379/0',
  REDIS_PASSWORD: 'existing-redis-password',
  REDIS_SENTINEL_PASSWORD: 'existing-sentinel-password',
  FHIR_UPSTREAM_AUTHORIZATION: 'Bearer existing',
};

const KEY_PAIR = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });

/** Every manifest is a valid object of its kind, and the pod holds the chart's invariants. */
export function assertInvariants(manifests: Manifest[], pod: PodSpec = podOf(only(manifests, 'Deployment'))): void {
  for (const m of manifests) validateManifest(m);
  const gw = gatewayOf(pod);
  const sc = gw.securityContext ?? {};
  expect(sc.runAsNonRoot, 'runAsNonRoot').to.equal(true);
  expect(sc.runAsUser, 'runAsUser').to.satisfy((u: unknown) => u === undefined || (typeof u === 'number' && u > 0));
  expect(sc.readOnlyRootFilesystem, 'readOnlyRootFilesystem').to.equal(true);
  expect(sc.allowPrivilegeEscalation, 'allowPrivilegeEscalation').to.equal(false);
  expect((sc.capabilities as { drop?: string[]; add?: string[] }).drop).to.deep.equal(['ALL']);
  expect((sc.capabilities as { add?: string[] }).add).to.equal(undefined);
  expect(sc.seccompProfile).to.deep.equal({ type: 'RuntimeDefault' });
  expect(gw.resources?.requests, 'resources.requests').to.include.keys('cpu', 'memory');
  expect(gw.resources?.limits, 'resources.limits').to.include.keys('memory');

  const port = gw.ports?.find((p) => p.name === 'gateway');
  expect(port, 'gateway port').to.not.equal(undefined);
  expect(envOf(gw, 'PORT')?.value).to.equal(String(port!.containerPort));
  expect(gw.livenessProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'gateway' });
  expect(gw.readinessProbe?.httpGet).to.deep.equal({ path: '/readyz', port: 'gateway' });
  expect(gw.startupProbe?.httpGet).to.deep.equal({ path: '/healthz', port: 'gateway' });
  // Port names are unique in a pod, so the probes reach the gateway and nothing beside it.
  const names = pod.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)).filter(Boolean);
  expect(names.filter((n) => n === 'gateway')).to.have.length(1);

  const volume = (mountPath: string) => {
    const mount = gw.volumeMounts?.find((m) => m.mountPath === mountPath);
    expect(mount, `a mount at ${mountPath}`).to.not.equal(undefined);
    const v = pod.volumes?.find((x) => x.name === mount!.name);
    expect(v, `volume ${mount!.name}`).to.not.equal(undefined);
    return { mount: mount!, volume: v! };
  };
  expect(volume('/tmp').volume.emptyDir, '/tmp is an emptyDir').to.not.equal(undefined);

  // Secrets only by reference, to a Secret that holds the key (the chart's) or one the user names.
  const secrets = find(manifests, 'Secret');
  for (const e of gw.env ?? []) {
    if (!SECRET_ENV.includes(e.name)) continue;
    expect(e.value, `${e.name} is not inline`).to.equal(undefined);
    const ref = e.valueFrom?.secretKeyRef;
    expect(ref, `${e.name} comes from a Secret`).to.not.equal(undefined);
    const rendered = secrets.find((s) => s.metadata.name === ref!.name);
    if (rendered) expect(dataOf(rendered), `${ref!.name} holds ${ref!.key}`).to.have.property(ref!.key);
  }
  for (const s of secrets) {
    for (const value of Object.values(dataOf(s)).map((v) => Buffer.from(v, 'base64').toString())) {
      for (const m of manifests.filter((x) => x.kind !== 'Secret')) expect(JSON.stringify(m), `${m.kind} ${m.metadata.name} shows a secret`).not.to.include(value);
    }
  }

  // CONFIG_FILE and TOPICS_DIR point into the ConfigMaps that are mounted there.
  const configFile = envOf(gw, 'CONFIG_FILE')?.value;
  expect(configFile, 'CONFIG_FILE').to.be.a('string');
  const { volume: configVolume, mount: configMount } = volume(dirname(configFile!));
  expect(configMount.readOnly).to.equal(true);
  const configMap = find(manifests, 'ConfigMap').find((c) => c.metadata.name === configVolume.configMap?.name);
  expect(configMap, 'the config ConfigMap').to.not.equal(undefined);
  expect(dataOf(configMap!)).to.have.property(basename(configFile!));
  const topicsDir = envOf(gw, 'TOPICS_DIR')?.value;
  if (topicsDir) expect(volume(topicsDir).volume.configMap, 'TOPICS_DIR is a ConfigMap').to.not.equal(undefined);
}

/**
 * What the gateway makes of the rendered pod: its environment (secrets resolved from the rendered
 * Secret, or stand-ins for existing ones), the config file and topics written where it would
 * read them. Throws the gateway's own ConfigError when it would refuse to start.
 */
export function gatewayView(manifests: Manifest[], pod: PodSpec = podOf(only(manifests, 'Deployment'))): { config: Config; env: Record<string, string>; topics: Topic[]; warnings: number } {
  const gw = gatewayOf(pod);
  const secrets = find(manifests, 'Secret');
  const configMaps = find(manifests, 'ConfigMap');
  const env: Record<string, string> = {};
  for (const e of gw.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) env[e.name] = e.value ?? '';
    else {
      const rendered = secrets.find((s) => s.metadata.name === ref.name);
      env[e.name] = rendered ? Buffer.from(dataOf(rendered)[ref.key]!, 'base64').toString() : EXISTING[e.name]!;
    }
  }
  const root = scratchPath('pod');
  const materialize = (dir: string): string => {
    const mount = gw.volumeMounts!.find((m) => m.mountPath === dir)!;
    const cm = configMaps.find((c) => c.metadata.name === pod.volumes!.find((v) => v.name === mount.name)!.configMap!.name)!;
    const local = join(root, dir);
    mkdirSync(local, { recursive: true });
    for (const [file, text] of Object.entries(dataOf(cm))) writeFileSync(join(local, file), text);
    return local;
  };
  env.CONFIG_FILE = join(materialize(dirname(env.CONFIG_FILE!)), basename(env.CONFIG_FILE!));
  let topics: Topic[] = [];
  let warnings = 0;
  if (env.TOPICS_DIR) {
    env.TOPICS_DIR = materialize(env.TOPICS_DIR);
    topics = loadTopicDir(env.TOPICS_DIR, { info: () => {}, warn: () => void warnings++ });
  }
  // Key files from a Secret volume: stand-ins for the pair the user's Secret holds.
  for (const [name, pem] of [
    ['TOKEN_PRIVATE_KEY_FILE', KEY_PAIR.privateKey],
    ['TOKEN_PUBLIC_KEY_FILE', KEY_PAIR.publicKey],
  ] as const) {
    const path = env[name];
    if (!path) continue;
    const mount = gw.volumeMounts!.find((m) => m.mountPath === dirname(path));
    expect(pod.volumes!.find((v) => v.name === mount?.name)?.secret, `${name} is in a mounted Secret`).to.not.equal(undefined);
    const local = join(root, path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, pem);
    env[name] = local;
  }
  return { config: loadConfig(env), env, topics, warnings };
}
