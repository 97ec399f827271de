import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'undici';
import { closedPort } from '../support/http-server.js';

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

function launch(env: Record<string, string>): Started {
  let out = '';
  let err = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return { child, stdout: () => out, stderr: () => err };
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(started.stdout())) {
    if (started.child.exitCode !== null) throw new Error(`exited early: ${started.stderr()}${started.stdout()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${started.stdout()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the gateway process', () => {
  it('starts with no configuration in front of the demo upstream, serves metadata and round-trips a Patient, and stops on SIGTERM', async function () {
    this.timeout(40_000);
    const port = await closedPort();
    const started = launch({ PORT: String(port), CONFIG_FILE: '', FHIR_UPSTREAM_URL: '', REDIS_URL: '' });
    try {
      await waitFor(started, /"msg":"gateway listening"/);
      expect(started.stdout()).to.match(/DEMO upstream/);

      const base = `http://127.0.0.1:${port}/fhir`;
      const meta = await request(`${base}/metadata`);
      expect(meta.statusCode).to.equal(200);
      expect(((await meta.body.json()) as { resourceType: string }).resourceType).to.equal('CapabilityStatement');

      const created = await request(`${base}/Patient`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Lovelace' }] }),
      });
      expect(created.statusCode).to.equal(201);
      const location = created.headers.location as string;
      await created.body.dump();
      expect(location).to.match(new RegExp(`^http://localhost:${port}/fhir/Patient/`));
      const read = await request(location.replace('localhost', '127.0.0.1'));
      expect(read.statusCode).to.equal(200);
      expect(((await read.body.json()) as { name: { family: string }[] }).name[0]!.family).to.equal('Lovelace');

      const t0 = Date.now();
      started.child.kill('SIGTERM');
      const [code] = (await once(started.child, 'exit')) as [number];
      expect(code).to.equal(0);
      expect(Date.now() - t0).to.be.lessThan(15_000);
      expect(started.stdout()).to.include('"msg":"gateway stopped"');

      // Every log line is JSON, and each request's line carries its request id.
      const lines = started
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l.msg === 'request completed' && typeof l.reqId === 'string').length).to.equal(3);
    } finally {
      started.child.kill('SIGKILL');
    }
  });

  it('refuses to start on a bad value, with one line naming the key', async () => {
    const started = launch({ PORT: 'eighty', CONFIG_FILE: '' });
    const [code] = (await once(started.child, 'exit')) as [number];
    expect(code).to.equal(1);
    expect(started.stderr().trim().split('\n')).to.deep.equal(['fhir-subscription-gateway: configuration error: PORT must be an integer from 0 to 65535 (got "eighty")']);
  });

  it('fails to start with a clear message when Redis cannot be reached', async function () {
    this.timeout(30_000);
    const started = launch({ PORT: '0', REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, TOKEN_SECRET: 'k'.repeat(32), FHIR_UPSTREAM_URL: 'http://127.0.0.1:1/fhir' });
    const [code] = (await once(started.child, 'exit')) as [number];
    expect(code).to.equal(1);
    expect(started.stderr()).to.match(/failed to start: .*(Redis|redis)/);
  });
});
