import { expect } from 'chai';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { firstNotification } from '../support/first-notification.js';
import { baseEnv, freshCopy, run } from '../support/fresh-copy.js';
import { closedPort } from '../support/http-server.js';
import { alive, childPids, ServiceProcess } from '../support/process.js';

/** Whether the port can be bound exclusively on the loopback address: nothing holds it. */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}

// The README's two commands on a fresh clone, as a newcomer runs them: `npm ci` (which builds dist/)
// then `npm start`, which must serve from compiled JavaScript and stop cleanly when signalled.
describe('a fresh clone: npm ci && npm start', function () {
  this.timeout(60_000);
  let dir: string;
  let port: number;
  let started: ServiceProcess;

  before(async function () {
    this.timeout(600_000);
    dir = await freshCopy('clone');
    await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, env: baseEnv(), maxBuffer: 64 * 1024 * 1024 });
    port = await closedPort();
    // No configuration at all beyond the port (and a short drain, to bound the test): the demo upstream.
    started = new ServiceProcess('npm', ['start'], { cwd: dir, env: baseEnv({ PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '3000' }) });
    await started.listening(60_000);
  });
  after(function () {
    // Removing the copy's node_modules (half a gigabyte) takes a while on a busy machine.
    this.timeout(300_000);
    started?.kill();
    for (const pid of started?.child.pid ? childPids(started.child.pid) : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm ci built dist/, and npm start runs node on dist/main.js as its only child, tsx nowhere', () => {
    expect(existsSync(join(dir, 'dist', 'main.js'))).to.equal(true);
    expect(existsSync(join(dir, 'dist', 'fhir', 'generated', 'search-parameters.r5.json'))).to.equal(true);
    const children = childPids(started.child.pid!);
    expect(children).to.have.length(1);
    const cmdline = readFileSync(`/proc/${children[0]}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline.slice(1)).to.deep.equal(['dist/main.js']);
    // exec: the shell npm runs the script in replaced itself with node, so npm's signals reach it.
    expect(childPids(children[0]!)).to.deep.equal([]);
    expect(started.stdout).to.match(/started the DEMO upstream/);
    expect(started.stdout).not.to.match(/tsx/);
  });

  it("serves in front of the demo upstream: /readyz is 200, and the README's first subscription fires at once", async () => {
    const ready = await request(`http://127.0.0.1:${port}/readyz`);
    expect(ready.statusCode).to.equal(200);
    await ready.body.dump();
    const first = await firstNotification(`http://127.0.0.1:${port}/fhir`);
    expect(first.websocketUrl).to.equal(`ws://localhost:${port}/ws`);
    const focus = (first.notification.entry as Array<{ fullUrl?: string }>)[1]?.fullUrl;
    expect(focus).to.equal(`http://localhost:${port}/fhir/Encounter/example`);
  });

  it('a second gateway on the same port stops with one line saying so, and a non-zero exit', async () => {
    const second = new ServiceProcess(process.execPath, ['dist/main.js'], { cwd: dir, env: baseEnv({ PORT: String(port), HOST: '127.0.0.1' }) });
    try {
      const code = await second.exited(60_000);
      expect(code).to.equal(1);
      expect(second.stderr.trim().split('\n')).to.deep.equal([`fhir-subscription-gateway: failed to start: cannot listen on 127.0.0.1:${port}: the port is already in use by another process`]);
    } finally {
      second.kill();
    }
    // The first one still answers: the port was never shared.
    const res = await request(`http://127.0.0.1:${port}/healthz`);
    expect(res.statusCode).to.equal(200);
    await res.body.dump();
  });

  it('SIGTERM to npm drains and exits within SHUTDOWN_TIMEOUT_MS, leaving no process behind and the port free', async () => {
    const node = childPids(started.child.pid!)[0]!;
    expect(alive(node)).to.equal(true);
    const t0 = Date.now();
    started.child.kill('SIGTERM');
    const code = await started.exited(15_000);
    expect(Date.now() - t0).to.be.lessThan(3000 + 2000);
    expect(code).to.equal(0);
    expect(alive(node), 'the node child of npm').to.equal(false);
    expect(await portFree(port), 'the port is free').to.equal(true);
    expect(started.stdout).to.include('"msg":"gateway stopped"');
  });
});
