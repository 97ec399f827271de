import { expect } from 'chai';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import type { Gateway } from '../../src/gateway.js';
import { fhir } from '../support/fhir.js';
import { firstNotification } from '../support/first-notification.js';
import { openTempDir, REPO_ROOT } from '../support/fresh-copy.js';
import { startTestGateway } from '../support/gateway.js';
import { closedPort, startHttpServer } from '../support/http-server.js';
import { ServiceProcess } from '../support/process.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'nginx', 'gateway.conf');
const NOBODY = 65534;

/** The README's example configuration, with only its listen port and the gateway's address changed. */
function renderExample(listenPort: number, gatewayPort: number): string {
  const text = readFileSync(EXAMPLE, 'utf8');
  const swap = (from: string, to: string, s: string) => {
    expect(s.split(from).length - 1, `"${from}" once in the example`).to.equal(1);
    return s.replace(from, to);
  };
  return swap('server 127.0.0.1:8080;', `server 127.0.0.1:${gatewayPort};`, swap('listen 80;', `listen 127.0.0.1:${listenPort};`, text));
}

// nginx (the Debian package) in front of the gateway with the README's example configuration,
// run without root in a temporary prefix. Between the gateway and the demo upstream, a recorder
// keeps the headers of every request the upstream receives.
describe('behind nginx, with the README example configuration', function () {
  this.timeout(30_000);
  let upstream: DemoUpstream;
  let recorder: Awaited<ReturnType<typeof startHttpServer>>;
  const seen: IncomingHttpHeaders[] = [];
  let gateway: Gateway;
  let nginx: ServiceProcess;
  let prefix: string;
  let publicBase: string;

  before(async function () {
    this.timeout(60_000);
    upstream = await startUpstream({ seed: true });
    recorder = await startHttpServer((req, res) => {
      seen.push(req.headers);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k))) as Record<string, string>;
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        request(`${new URL(upstream.url).origin}${req.url}`, { method: req.method as 'GET', headers, body })
          .then(async (r) => {
            const out = Buffer.from(await r.body.arrayBuffer());
            const pass = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k)));
            res.writeHead(r.statusCode, pass);
            res.end(out);
          })
          .catch(() => res.destroy());
      });
    });
    const nginxPort = await closedPort();
    publicBase = `http://127.0.0.1:${nginxPort}/fhir`;
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: `${recorder.url}/fhir`, FHIR_UPSTREAM_ALIASES: upstream.url, PUBLIC_BASE_URL: publicBase });

    prefix = openTempDir('nginx');
    for (const d of ['logs', 'temp']) mkdirSync(join(prefix, d));
    writeFileSync(join(prefix, 'gateway.conf'), renderExample(nginxPort, gateway.port));
    writeFileSync(
      join(prefix, 'nginx.conf'),
      [
        'worker_processes 1;',
        'events { worker_connections 256; }',
        'http {',
        '    access_log logs/access.log;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path temp/${t};`),
        '    include gateway.conf;',
        '}',
        '',
      ].join('\n'),
    );
    chownSync(join(prefix, 'logs'), NOBODY, NOBODY);
    chownSync(join(prefix, 'temp'), NOBODY, NOBODY);
    nginx = new ServiceProcess(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'nginx', '-p', `${prefix}/`, '-c', 'nginx.conf', '-e', 'logs/error.log', '-g', `daemon off; pid ${prefix}/logs/nginx.pid;`],
      { env: { PATH: process.env.PATH } },
    );
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          if (nginx.child.exitCode !== null) throw new Error(`nginx exited: ${nginx.stderr}${readErrorLog()}`);
          const s = createConnection(nginxPort, '127.0.0.1');
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        }),
      'nginx to listen',
      10_000,
    );
  });
  after(async () => {
    // SIGTERM, not SIGKILL: the master stops its workers, which would otherwise outlive it.
    await nginx?.stop();
    await gateway?.close();
    await recorder?.close();
    await upstream?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  function readErrorLog(): string {
    try {
      return readFileSync(join(prefix, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  it('the README shows the example file as it is', () => {
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).to.include('```nginx\n' + readFileSync(EXAMPLE, 'utf8') + '```\n');
  });

  it('passes FHIR requests through, and every URL a client sees is the public one', async () => {
    const meta = await fhir<{ resourceType: string }>('GET', `${publicBase}/metadata`);
    expect(meta.status).to.equal(200);
    expect(meta.body.resourceType).to.equal('CapabilityStatement');

    const created = await fhir<{ id: string }>('POST', `${publicBase}/Patient`, { resourceType: 'Patient', name: [{ family: 'Hopper' }] });
    expect(created.status).to.equal(201);
    expect(created.headers.location).to.match(new RegExp(`^${publicBase}/Patient/${created.body.id}/_history/1$`));

    const search = await fhir<{ link: { url: string }[]; entry: { fullUrl: string }[] }>('GET', `${publicBase}/Patient?family=Hopper`);
    expect(search.status).to.equal(200);
    expect(search.body.entry.map((e) => e.fullUrl)).to.deep.equal([`${publicBase}/Patient/${created.body.id}`]);
    for (const link of search.body.link) expect(link.url.startsWith(`${publicBase}/`), link.url).to.equal(true);
    expect(JSON.stringify(search.body)).not.to.include(upstream.url);
  });

  it('the FHIR server receives X-Forwarded-For, -Proto and -Host describing the original request', async () => {
    seen.length = 0;
    const res = await fhir('GET', `${publicBase}/Patient/example`, undefined, { 'x-forwarded-for': '203.0.113.7' });
    expect(res.status).to.equal(200);
    const h = seen.find((s) => s['x-forwarded-host'] !== undefined)!;
    // nginx appends the client it saw to what the client sent; the gateway appends nginx.
    expect(h['x-forwarded-for']).to.equal('203.0.113.7, 127.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).to.equal('http');
    expect(h['x-forwarded-host']).to.equal(new URL(publicBase).host);
  });

  it('a WebSocket bound through nginx receives its notifications, with the public URLs', async () => {
    const first = await firstNotification(publicBase);
    // The socket dialled nginx: the URL the gateway handed out is nginx's, derived from PUBLIC_BASE_URL.
    expect(first.websocketUrl).to.equal(`ws://${new URL(publicBase).host}/ws`);
    const entries = first.notification.entry as Array<{ fullUrl?: string; request?: { url: string } }>;
    expect(entries[0]!.request!.url).to.equal(`${publicBase}/Subscription/${first.subscriptionId}/$status`);
    expect(entries.slice(1).map((e) => e.fullUrl)).to.deep.equal([`${publicBase}/Encounter/example`]);
    // nginx logs a WebSocket when it closes.
    await until(() => /"GET \/ws HTTP\/1\.1" 101 /.test(readFileSync(join(prefix, 'logs', 'access.log'), 'utf8')), 'the upgrade in the access log');
  });
});
