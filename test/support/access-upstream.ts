// An upstream that enforces access for real: the demo upstream (a real FHIR engine) behind a small
// access-checking layer, with several users of different rights. Tests that are about who may see
// or change what point the gateway at `url` instead of the demo's own URL.
//
// Callers authenticate with `Authorization: Bearer <user token>`. Each user has per-resource-type
// rights (read: read, vread, search, history; write: create, update, patch, delete). Subscriptions
// are owned by the user who created them: others get 404 for them (Medplum answers 404 outside a
// caller's access policy, which is the case item 2 of issue 8 is about), and searches of
// Subscription only return the caller's own. Denied reads answer 403 by default, or 404 for users
// marked `hide`. A revoked token (revoke()) answers 401 from then on. The gateway's own service
// credential is a user too (`service`, full rights), passed as FHIR_UPSTREAM_AUTHORIZATION.
//
// Every request that reaches the layer is recorded in `requests`, so a test can count how often the
// gateway asked the upstream on behalf of which user.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startUpstream, type DemoUpstream } from './upstream.js';
import type { DemoUpstreamOptions } from '../../src/demo/fhir-server.js';

export type Access = 'read' | 'write';

export interface UserRights {
  /** Resource type → what the user may do with it; `*` for every type not listed. */
  rights: Record<string, readonly Access[]>;
  /** Answer denied reads with 404 instead of 403, as Medplum does outside an access policy. */
  hide?: boolean;
  /** May read and change every Subscription, not only its own (an administrator). */
  allSubscriptions?: boolean;
}

export interface RecordedRequest {
  user: string | undefined;
  method: string;
  /** Path relative to the FHIR base, without the query: `Patient/123`, `Subscription`, `` for the base. */
  path: string;
  query: string;
  status: number;
}

/** Bearer tokens of the shipped users; a test may add its own with `users` in the options. */
export const USERS = {
  /** The gateway's own credential (FHIR_UPSTREAM_AUTHORIZATION). */
  service: 'Bearer service-token',
  /** Reads and writes everything, all Subscriptions included. */
  admin: 'Bearer admin-token',
  /** Reads and writes clinical data and its own Subscriptions. */
  clinician: 'Bearer clinician-token',
  /** Another clinician: same rights, its own Subscriptions. */
  colleague: 'Bearer colleague-token',
  /** Manages its own Subscriptions and sees Encounters, but may not read Patients (403). */
  scheduler: 'Bearer scheduler-token',
  /** Like scheduler, but denied reads look like 404 (Medplum's behaviour). */
  outsider: 'Bearer outsider-token',
} as const;

const DEFAULT_USERS: Record<string, UserRights> = {
  [USERS.service]: { rights: { '*': ['read', 'write'] }, allSubscriptions: true },
  [USERS.admin]: { rights: { '*': ['read', 'write'] }, allSubscriptions: true },
  [USERS.clinician]: { rights: { '*': ['read', 'write'] } },
  [USERS.colleague]: { rights: { '*': ['read', 'write'] } },
  [USERS.scheduler]: { rights: { Subscription: ['read', 'write'], Encounter: ['read', 'write'], SubscriptionTopic: ['read'], Basic: ['read'] } },
  [USERS.outsider]: { rights: { Subscription: ['read', 'write'], Encounter: ['read', 'write'], SubscriptionTopic: ['read'], Basic: ['read'] }, hide: true },
};

export interface AccessUpstreamOptions {
  /** Extra or replacement users, keyed by the whole Authorization header value. */
  users?: Record<string, UserRights>;
  demo?: Omit<DemoUpstreamOptions, 'port'>;
}

export interface AccessUpstream {
  /** The FHIR base URL of the access-checking layer (what the gateway's FHIR_UPSTREAM_URL is). */
  url: string;
  /** The demo upstream behind it (direct access bypasses every check: for seeding data in tests). */
  demo: DemoUpstream;
  requests: RecordedRequest[];
  /** From now on this Authorization value gets 401. */
  revoke(authorization: string): void;
  /** Adds or replaces a user. */
  setUser(authorization: string, rights: UserRights): void;
  close(): Promise<void>;
}

interface Target {
  type: string | undefined;
  id: string | undefined;
  /** A `$operation` in the path, if any. */
  operation: string | undefined;
  /** `_history`, `_search` and the like. */
  interaction: string | undefined;
}

export async function startAccessUpstream(opts: AccessUpstreamOptions = {}): Promise<AccessUpstream> {
  const demo = await startUpstream(opts.demo);
  const users = new Map<string, UserRights>(Object.entries({ ...DEFAULT_USERS, ...opts.users }));
  const revoked = new Set<string>();
  const owners = new Map<string, string>();
  const requests: RecordedRequest[] = [];
  const upstreamBase = new URL(demo.url);
  const basePath = upstreamBase.pathname.replace(/\/+$/, '');

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, outcome('exception', 'access layer failed'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const full = new URL(req.url ?? '/', 'http://layer');
    const rel = full.pathname.startsWith(basePath) ? full.pathname.slice(basePath.length).replace(/^\/+/, '') : full.pathname.replace(/^\/+/, '');
    const auth = req.headers.authorization;
    const record = (status: number) => requests.push({ user: auth, method, path: decodeURIComponent(rel), query: full.search.slice(1), status });
    const body = await readBody(req);

    if (rel === 'metadata' && method === 'GET') return forward(req, res, body, record);
    if (!auth || revoked.has(auth) || !users.has(auth)) {
      record(401);
      res.setHeader('WWW-Authenticate', 'Bearer realm="access-upstream"');
      return answer(res, 401, outcome('login', revoked.has(auth ?? '') ? 'The access token was revoked' : 'Authentication required'));
    }
    const user = users.get(auth)!;
    const target = parseTarget(rel);
    const write = method !== 'GET' && method !== 'HEAD' && !(method === 'POST' && (target.interaction === '_search' || target.operation !== undefined));

    // A transaction or batch is checked entry by entry: every entry must be allowed.
    if (target.type === undefined && method === 'POST') {
      const denied = deniedEntry(user, auth, body);
      if (denied) {
        record(403);
        return answer(res, 403, outcome('forbidden', `not allowed: ${denied}`));
      }
      return forward(req, res, body, (status, text) => {
        record(status);
        if (status < 300) for (const entry of bundleEntries(text)) noteOwner(entry, auth);
      });
    }

    if (target.type !== undefined && !allowed(user, target.type, write ? 'write' : 'read')) {
      const status = !write && user.hide ? 404 : 403;
      record(status);
      return answer(
        res,
        status,
        outcome(status === 404 ? 'not-found' : 'forbidden', status === 404 ? `${target.type}/${target.id ?? ''} not found` : `not allowed to ${write ? 'write' : 'read'} ${target.type}`),
      );
    }
    if (target.type === 'Subscription' && target.id && !user.allSubscriptions) {
      const owner = owners.get(target.id);
      // A Subscription created by someone else does not exist for this caller.
      if (owner !== undefined ? owner !== auth : method !== 'PUT') {
        record(404);
        return answer(res, 404, outcome('not-found', `Subscription/${target.id} not found`));
      }
    }

    const filterSearch = target.type === 'Subscription' && !target.id && !user.allSubscriptions && (method === 'GET' || target.interaction === '_search');
    return forward(
      req,
      res,
      body,
      (status, text) => {
        record(status);
        if (status < 300 && target.type === 'Subscription' && write && method !== 'DELETE') noteOwner(parseJson(text), auth);
      },
      filterSearch ? (text) => ownSearchResults(text, auth) : undefined,
    );
  }

  function allowed(user: UserRights, type: string, access: Access): boolean {
    return (user.rights[type] ?? user.rights['*'] ?? []).includes(access);
  }

  function deniedEntry(user: UserRights, auth: string, body: Buffer): string | undefined {
    for (const entry of bundleEntries(body.toString('utf8'), true)) {
      const url = (entry as { request?: { url?: unknown } }).request?.url;
      const reqUrl = typeof url === 'string' ? url : '';
      const method = (entry as { request?: { method?: unknown } }).request?.method;
      const m = (typeof method === 'string' ? method : 'GET').toUpperCase();
      const t = parseTarget(reqUrl.split('?')[0]!);
      if (!t.type) continue;
      if (!allowed(user, t.type, m === 'GET' || m === 'HEAD' ? 'read' : 'write')) return `${m} ${t.type}`;
      if (t.type === 'Subscription' && t.id && !user.allSubscriptions && owners.get(t.id) !== undefined && owners.get(t.id) !== auth) return `${m} Subscription/${t.id}`;
    }
    return undefined;
  }

  function noteOwner(resource: unknown, auth: string): void {
    const r = resource as { resourceType?: unknown; id?: unknown } | undefined;
    if (r?.resourceType === 'Subscription' && typeof r.id === 'string' && !owners.has(r.id)) owners.set(r.id, auth);
  }

  function ownSearchResults(text: string, auth: string): string {
    const bundle = parseJson(text) as { entry?: Array<{ resource?: { id?: string } }>; total?: number } | undefined;
    if (!bundle || !Array.isArray(bundle.entry)) return text;
    bundle.entry = bundle.entry.filter((e) => e.resource?.id !== undefined && owners.get(e.resource.id) === auth);
    if (typeof bundle.total === 'number') bundle.total = bundle.entry.length;
    return JSON.stringify(bundle);
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, done: (status: number, text: string) => void, transform?: (text: string) => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstreamBase.host };
      delete headers['content-length'];
      delete headers['transfer-encoding'];
      if (body.length > 0) headers['content-length'] = String(body.length);
      const up = httpRequest({ host: upstreamBase.hostname, port: upstreamBase.port, method: req.method, path: req.url, headers }, (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('error', reject);
        upRes.on('end', () => {
          // The demo writes its own base into bodies and headers; clients of the layer see the layer's.
          let text = Buffer.concat(chunks).toString('utf8').split(demo.url).join(url);
          const status = upRes.statusCode ?? 502;
          done(status, text);
          if (transform) text = transform(text);
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(upRes.headers)) {
            if (v === undefined || k === 'content-length' || k === 'transfer-encoding' || k === 'connection' || k === 'keep-alive') continue;
            out[k] = Array.isArray(v) ? v.map((x) => x.split(demo.url).join(url)) : v.split(demo.url).join(url);
          }
          const buf = Buffer.from(text, 'utf8');
          out['content-length'] = String(buf.length);
          res.writeHead(status, out);
          res.end(buf);
          resolve();
        });
      });
      up.on('error', reject);
      up.end(body);
    });
  }

  return {
    url,
    demo,
    requests,
    revoke: (authorization) => void revoked.add(authorization),
    setUser: (authorization, rights) => void users.set(authorization, rights),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await demo.close();
    },
  };
}

function parseTarget(rel: string): Target {
  const parts = rel
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  const target: Target = { type: undefined, id: undefined, operation: undefined, interaction: undefined };
  if (parts.length === 0) return target;
  if (parts[0]!.startsWith('$')) {
    target.operation = parts[0];
    return target;
  }
  target.type = parts[0];
  for (const p of parts.slice(1)) {
    if (p.startsWith('$')) target.operation = p;
    else if (p.startsWith('_')) target.interaction ??= p;
    else if (target.id === undefined && target.interaction === undefined) target.id = p;
  }
  return target;
}

function bundleEntries(text: string, requestSide = false): unknown[] {
  const bundle = parseJson(text) as { resourceType?: unknown; entry?: unknown } | undefined;
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) return [];
  if (requestSide) return bundle.entry as unknown[];
  return (bundle.entry as Array<{ resource?: unknown }>).map((e) => e?.resource).filter((r) => r !== undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function outcome(code: string, diagnostics: string): object {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

function answer(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/fhir+json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
