// The browser console at /console: static files read once at start from the package's console/
// directory (plus preact+htm from node_modules), served with strict headers. It has no API of its
// own: the page talks to the gateway's public FHIR API and WebSocket like any other client.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FhirVersion } from '../config.js';
import { packageRoot } from '../package-root.js';
import type { Exchange } from './exchange.js';
import { send, sendJson, type HeaderList } from './respond.js';

export const CONSOLE_PATH = '/console';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface ConsoleSettings {
  /** Path of the FHIR API on this gateway (the page calls it on its own origin). */
  fhirBasePath: string;
  fhirVersion: FhirVersion;
  /** Whether the upstream is the embedded demo server (the page then offers sample data freely). */
  demo: boolean;
  /** The WebSocket URL binding tokens name, allowed in connect-src beside the page's own origin. */
  wsUrl: string;
}

/** The console's files, keyed by their path under /console/. Throws when the package lacks them. */
export function loadConsoleAssets(root = packageRoot()): Map<string, Asset> {
  const dir = join(root, 'console');
  const assets = new Map<string, Asset>();
  const add = (name: string, file: string) => {
    const body = readFileSync(file);
    assets.set(name, { body, type: TYPES[extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  };
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile() && TYPES[extname(e.name)]) add(e.name, join(dir, e.name));
  // Found as Node finds the package, wherever npm placed it; its browser ESM build is one file.
  add('vendor/preact-htm.js', join(dirname(createRequire(import.meta.url).resolve('htm')), '..', 'preact', 'standalone.module.js'));
  return assets;
}

function securityHeaders(wsUrl: string): HeaderList {
  const ws = new URL(wsUrl);
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    // The page's own origin for the FHIR API; 'self' covers ws(s) on it too, the public ws origin is named for a proxy in between.
    `connect-src 'self' ${ws.protocol}//${ws.host}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return [
    ['Content-Security-Policy', csp],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
  ];
}

/** The handler for GET /console and /console/*. `settings` is read per request: the public URL is known only after listening. */
export function consoleHandler(assets: Map<string, Asset>, settings: () => ConsoleSettings): (ex: Exchange) => void {
  return (ex) => {
    const current = settings();
    const headers = securityHeaders(current.wsUrl);
    const rel = ex.path.slice(CONSOLE_PATH.length);
    if (rel === '') return send(ex, 308, [...headers, ['Location', `${CONSOLE_PATH}/`], ['Content-Type', 'text/plain; charset=utf-8']], `${CONSOLE_PATH}/`);
    const name = rel === '/' ? 'index.html' : rel.slice(1);
    if (name === 'settings.json') {
      send(
        ex,
        200,
        [...headers, ['Content-Type', 'application/json'], ['Cache-Control', 'no-store']],
        JSON.stringify({ fhirBasePath: current.fhirBasePath, fhirVersion: current.fhirVersion, demo: current.demo }),
      );
      return;
    }
    const asset = assets.get(name);
    if (!asset) return sendJson(ex, 404, { error: `no console file ${name}` }, 'application/json');
    // Small files: always revalidate, so an upgraded gateway never runs an old page against a new API.
    const common: HeaderList = [...headers, ['Cache-Control', 'no-cache'], ['ETag', asset.etag]];
    if (ex.headers.get('if-none-match') === asset.etag) return send(ex, 304, common, '');
    send(ex, 200, [...common, ['Content-Type', asset.type]], asset.body);
  };
}
