import { expect } from 'chai';
import { join } from 'node:path';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import type { Gateway } from '../../src/gateway.js';
import { packageRoot } from '../../src/package-root.js';
import { startTestGateway } from '../support/gateway.js';
import { GatewayProcess } from '../support/process.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

async function get(origin: string, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${origin}${path}`, { headers });
  const body = await res.body.text();
  const header = (name: string) => String(res.headers[name] ?? '');
  return { status: res.statusCode, header, body };
}

describe('console: how /console is served', () => {
  let upstream: DemoUpstream;
  let on: Gateway;
  let off: Gateway;
  const origin = (g: Gateway) => `http://127.0.0.1:${g.port}`;

  before(async () => {
    upstream = await startUpstream();
    on = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, CONSOLE_ENABLED: 'true' });
    off = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url });
  });
  after(async () => {
    await on.close();
    await off.close();
    await upstream.close();
  });

  it('serves the page with a strict Content-Security-Policy and revalidating caches', async () => {
    const page = await get(origin(on), '/console/');
    expect(page.status).to.equal(200);
    expect(page.header('content-type')).to.equal('text/html; charset=utf-8');
    expect(page.body).to.contain('<script type="module" src="app.js"></script>');
    const csp = page.header('content-security-policy');
    expect(csp).to.contain("default-src 'none'").and.contain("script-src 'self'").and.contain("style-src 'self'").and.contain("frame-ancestors 'none'");
    expect(csp).to.contain(`connect-src 'self' ws://localhost:${on.port}`);
    expect(csp).not.to.contain('unsafe');
    expect(page.header('x-content-type-options')).to.equal('nosniff');
    expect(page.header('referrer-policy')).to.equal('no-referrer');
    expect(page.header('cache-control')).to.equal('no-cache');
    const again = await get(origin(on), '/console/', { 'if-none-match': page.header('etag') });
    expect(again.status).to.equal(304);
    expect(again.body).to.equal('');
  });

  it('sends each module and the vendored preact+htm as JavaScript, and its settings uncached', async () => {
    for (const file of ['app.js', 'fhir.js', 'live.js', 'shapes.js', 'topics.js', 'examples.js', 'vendor/preact-htm.js']) {
      const res = await get(origin(on), `/console/${file}`);
      expect(res.status, file).to.equal(200);
      expect(res.header('content-type'), file).to.equal('text/javascript; charset=utf-8');
    }
    expect((await get(origin(on), '/console/vendor/preact-htm.js')).body).to.match(/export\{[^}]*\bhtml\b/);
    expect((await get(origin(on), '/console/style.css')).header('content-type')).to.equal('text/css; charset=utf-8');
    const settings = await get(origin(on), '/console/settings.json');
    expect(settings.header('cache-control')).to.equal('no-store');
    expect(JSON.parse(settings.body)).to.deep.equal({ fhirBasePath: '/fhir', fhirVersion: 'R4', demo: false });
  });

  it('redirects /console to /console/, and knows no other file', async () => {
    const bare = await get(origin(on), '/console');
    expect(bare.status).to.equal(308);
    expect(bare.header('location')).to.equal('/console/');
    expect((await get(origin(on), '/console/nope.js')).status).to.equal(404);
    expect((await get(origin(on), '/console/..%2fpackage.json')).status).to.equal(404);
    expect((await get(origin(on), '/console/vendor/../../package.json')).status).not.to.equal(200);
  });

  it('is off unless enabled when the upstream is a real server', async () => {
    const res = await get(origin(off), '/console/');
    expect(res.status).to.equal(404);
    expect(JSON.parse(res.body).resourceType).to.equal('OperationOutcome');
  });

  it('is on by default with the demo upstream, and CONSOLE_ENABLED decides otherwise', () => {
    expect(loadConfig({ CONFIG_FILE: '' }).consoleEnabled).to.equal(true);
    expect(loadConfig({ CONFIG_FILE: '', FHIR_UPSTREAM_URL: 'http://fhir.example/fhir' }).consoleEnabled).to.equal(false);
    expect(loadConfig({ CONFIG_FILE: '', FHIR_UPSTREAM_URL: 'http://fhir.example/fhir', CONSOLE_ENABLED: 'true' }).consoleEnabled).to.equal(true);
    expect(loadConfig({ CONFIG_FILE: '', CONSOLE_ENABLED: 'false' }).consoleEnabled).to.equal(false);
    expect(() => loadConfig({ CONFIG_FILE: '', CONSOLE_ENABLED: 'yes' })).to.throw(/CONSOLE_ENABLED must be true or false/);
  });

  it('is served by `npm start` with no configuration (the demo upstream), which it says in its settings', async function () {
    this.timeout(40_000);
    const gateway = new GatewayProcess({ PORT: '0', HOST: '127.0.0.1', FHIR_UPSTREAM_URL: '', REDIS_URL: '' });
    try {
      const port = await gateway.listening();
      const settings = await get(`http://127.0.0.1:${port}`, '/console/settings.json');
      expect(JSON.parse(settings.body)).to.deep.equal({ fhirBasePath: '/fhir', fhirVersion: 'R4', demo: true });
      expect((await get(`http://127.0.0.1:${port}`, '/console/')).status).to.equal(200);
    } finally {
      await gateway.stop();
    }
  });

  it('finds its files from the package root wherever the code runs (src/ or a compiled dist/)', () => {
    const root = packageRoot();
    expect(packageRoot(join(root, 'dist', 'src', 'http'))).to.equal(root);
    expect(packageRoot(join(root, 'console'))).to.equal(root);
  });
});
