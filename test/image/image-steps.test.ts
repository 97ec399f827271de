import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chownSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { buildStages, parseDockerfile, type BuiltStage } from '../support/dockerfile.js';
import { firstNotification } from '../support/first-notification.js';
import { openTempDir, REPO_ROOT, run } from '../support/fresh-copy.js';
import { closedPort } from '../support/http-server.js';
import { alive, childPids, ServiceProcess } from '../support/process.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

const execFileP = promisify(execFile);

/**
 * The image's own steps, outside a container: every stage of the Dockerfile performed from the
 * build context .dockerignore leaves (test/support/dockerfile.ts), then the final stage's CMD
 * started the way a runtime would: as PID 1 of its own PID namespace, as the Dockerfile's numeric
 * USER, with the image's ENV only, from a tree nobody may write (the read-only root filesystem)
 * and one writable tmp directory.
 */
describe('the image, built from its Dockerfile steps and started as its user from a read-only tree', function () {
  this.timeout(60_000);
  let out: string;
  let image: BuiltStage;
  let uid: string;
  let gid: string;
  let tmp: string;
  let upstream: DemoUpstream;
  const running: ServiceProcess[] = [];

  before(async function () {
    this.timeout(600_000);
    out = openTempDir('image');
    const stages = await buildStages(REPO_ROOT, parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')), out);
    image = stages.at(-1)!;
    [uid, gid] = image.user!.split(':') as [string, string];
    await run('chmod', ['-R', 'a-w', image.root]);
    tmp = openTempDir('image-tmp');
    chownSync(tmp, Number(uid), Number(gid));
    upstream = await startUpstream({ seed: true });
  });
  afterEach(() => {
    for (const p of running.splice(0)) p.kill();
  });
  after(async function () {
    // Removing the stages' node_modules (half a gigabyte) takes a while on a busy machine.
    this.timeout(300_000);
    await upstream?.close();
    if (out) {
      await run('chmod', ['-R', 'u+w', out]);
      rmSync(out, { recursive: true, force: true });
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** `docker run -e …`: the image's ENV, then the given variables; node as PID 1 under the image's USER. */
  function runImage(env: Record<string, string>): ServiceProcess {
    const [command, ...args] = image.cmd!;
    const binary = command === 'node' ? process.execPath : command!;
    const p = new ServiceProcess('unshare', ['--pid', '--fork', '--kill-child', '--', 'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', binary, ...args], {
      cwd: join(image.root, image.workdir),
      env: { PATH: process.env.PATH, ...image.env, TMPDIR: tmp, ...env },
    });
    running.push(p);
    return p;
  }

  /** The host pid of the image's PID 1 (unshare's only child). */
  async function pid1(p: ServiceProcess): Promise<number> {
    let pid: number | undefined;
    await until(() => (pid = childPids(p.child.pid!)[0]) !== undefined, 'the container process');
    return pid!;
  }

  it('holds production dependencies only, and compiled JavaScript, no TypeScript sources', async () => {
    const { stdout } = await execFileP('ls', [join(image.root, image.workdir), join(image.root, image.workdir, 'node_modules')]);
    expect(stdout).to.include('dist').and.include('config').and.include('console').and.include('package.json');
    for (const dev of ['typescript', 'tsx', 'mocha', 'chai', 'eslint', 'hl7.fhir.r5.core']) expect(stdout.split(/\s+/)).not.to.include(dev);
    expect(stdout.split(/\s+/)).to.include('uWebSockets.js');
    expect(stdout.split(/\s+/)).not.to.include('src');
  });

  it('refuses to start without FHIR_UPSTREAM_URL unless the demo is asked for, in one line', async () => {
    const p = runImage({});
    expect(await p.exited()).to.equal(1);
    expect(p.stderr.trim().split('\n')).to.deep.equal([
      "fhir-subscription-gateway: configuration error: FHIR_UPSTREAM_URL is required: set it to your FHIR server's base URL (or set DEMO_UPSTREAM=true to run the in-memory demo upstream, for development only)",
    ]);
  });

  it('in front of an upstream: /readyz 200, the HEALTHCHECK passes, a notification is delivered; SIGTERM to PID 1 drains and exits 0, nothing written outside tmp', async () => {
    const port = await closedPort();
    const p = runImage({ FHIR_UPSTREAM_URL: upstream.url, PORT: String(port), SHUTDOWN_TIMEOUT_MS: '3000' });
    await p.listening(60_000);
    const ready = await request(`http://127.0.0.1:${port}/readyz`);
    expect(ready.statusCode).to.equal(200);
    await ready.body.dump();

    // The HEALTHCHECK's own command, run as the image's user with its environment.
    const check = /CMD\s+(\[.*\])\s*$/.exec(image.healthcheck!)![1]!;
    const [hcCommand, ...hcArgs] = JSON.parse(check) as string[];
    await execFileP('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', hcCommand === 'node' ? process.execPath : hcCommand!, ...hcArgs], {
      env: { PATH: process.env.PATH, ...image.env, PORT: String(port) },
    });

    const first = await firstNotification(`http://127.0.0.1:${port}/fhir`);
    expect(first.notification.resourceType).to.equal('Bundle');

    const pid = await pid1(p);
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).to.match(/^NSpid:\s+\d+\s+1$/m);
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    expect(await p.exited()).to.equal(0);
    expect(Date.now() - t0).to.be.lessThan(3000 + 2000);
    expect(alive(pid)).to.equal(false);
    expect(p.stdout).to.include('"msg":"gateway stopped"');

    // Every file the image's user owns is in the tmp directory (the tree was read-only to it anyway).
    // Other processes' temporary directories come and go during the walk: -ignore_readdir_race.
    const { stdout } = await execFileP('find', ['/tmp', '/var/tmp', '/dev/shm', image.root, '-ignore_readdir_race', '-xdev', '-uid', uid, '-not', '-path', `${tmp}*`]);
    expect(stdout.trim()).to.equal('');
  });

  it('with DEMO_UPSTREAM=true runs the demo upstream in the image, R5 with DEMO_FHIR_VERSION=R5', async () => {
    const port = await closedPort();
    const p = runImage({ DEMO_UPSTREAM: 'true', DEMO_FHIR_VERSION: 'R5', PORT: String(port) });
    await p.listening(60_000);
    expect(p.stdout).to.match(/"fhirVersion":"R5"[^\n]*"msg":"gateway listening"/);
    const meta = await request(`http://127.0.0.1:${port}/fhir/metadata`);
    expect(meta.statusCode).to.equal(200);
    expect(((await meta.body.json()) as { fhirVersion: string }).fhirVersion).to.equal('5.0.0');
    const patient = await request(`http://127.0.0.1:${port}/fhir/Patient/example`);
    expect(patient.statusCode).to.equal(200);
    await patient.body.dump();
    process.kill(await pid1(p), 'SIGINT');
    expect(await p.exited()).to.equal(0);
  });
});
