import './websocket-global.js';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OperationOutcomeError, allOk, badRequest, getStatus, serverError, unsupportedMediaType } from '@medplum/core';
import { FhirRouter } from '@medplum/fhir-router';
import type { FhirRequest, HttpMethod } from '@medplum/fhir-router';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { buildCapabilityStatement } from './capability.js';
import { loadDefinitions } from './definitions.js';
import { typeHistory } from './history.js';
import { DemoRepository } from './repository.js';
import { seedResources } from './seed.js';
import { FHIR_JSON, reply, toHttpReply } from './response.js';
import type { HttpReply } from './response.js';

export interface DemoUpstreamOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  basePath?: string;
  /**
   * The engine is R4. R4B or R5 make it declare that version in its metadata and store resources
   * unvalidated, so tests can run the gateway's R4B and R5 behaviour against a real server.
   */
  fhirVersion?: 'R4' | 'R4B' | 'R5';
  /** Largest request body accepted, in bytes; default 64 MiB. */
  maxBodyBytes?: number;
  /** Validate writes against the R4 definitions; default true. */
  validate?: boolean;
  /** Start with the example resources of `seed.ts` (Patient/example, Encounter/example); default false. */
  seed?: boolean;
}

export interface DemoUpstream {
  /** Base URL including the base path, without a trailing slash. */
  url: string;
  port: number;
  repo: DemoRepository;
  close(): Promise<void>;
}

const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** An in-process R4 server on @medplum/fhir-router and an in-memory repository. Dev and tests only. */
export async function startDemoUpstream(opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  await loadDefinitions();
  const host = opts.host ?? '127.0.0.1';
  const basePath = '/' + (opts.basePath ?? '/fhir').replace(/^\/+|\/+$/g, '');
  const maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const posing = opts.fhirVersion !== undefined && opts.fhirVersion !== 'R4';
  const repo = new DemoRepository({ validate: posing ? false : opts.validate, maxBinaryBytes: maxBodyBytes });
  if (opts.seed) {
    for (const resource of seedResources(opts.fhirVersion ?? 'R4')) await repo.createResource(resource, { assignedId: true });
  }
  const router = new FhirRouter();
  // Longer than the keep-alive of any client pool in front of it, so an idle pooled socket is never closed
  // by the server just as the client reuses it (an ECONNRESET that looks like a gateway bug).
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 });
  const port = await listen(server, opts.port ?? 0, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${basePath === '/' ? '' : basePath}`;

  const capability = buildCapabilityStatement(url, new Date().toISOString(), { R4: '4.0.1', R4B: '4.3.0', R5: '5.0.0' }[opts.fhirVersion ?? 'R4']);
  // fhir-router has no metadata route; a literal segment outranks the :resourceType search route.
  router.add('GET', 'metadata', async () => [allOk, capability]);
  // fhir-router has instance history only; `_history` outranks the :id of the read route.
  router.add('GET', ':resourceType/_history', typeHistory(repo, url), 'history-type');

  const handler = new Handler(router, repo, url, basePath, maxBodyBytes);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handler
      .handle(req)
      .catch(errorReply)
      .then((r) => send(res, r))
      .catch(() => res.destroy());
  });

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    }));
  return { url, port, repo, close };
}

class Handler {
  constructor(
    private readonly router: FhirRouter,
    private readonly repo: DemoRepository,
    private readonly baseUrl: string,
    private readonly basePath: string,
    private readonly maxBodyBytes: number,
  ) {}

  async handle(req: IncomingMessage): Promise<HttpReply> {
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const relative = this.relativePath(pathname);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    if (relative === undefined || !METHODS.has(method)) {
      await drain(req);
      return reply(404, issue('not-found', `No route for ${req.method} ${pathname}`));
    }
    const bytes = await readBody(req, this.maxBodyBytes);
    if (bytes === undefined) {
      return reply(413, issue('too-costly', `Request body exceeds ${this.maxBodyBytes} bytes`));
    }
    const body = parseBody(bytes, req.headers['content-type']);
    if (body === undefined && needsBody(method, relative)) {
      return reply(400, issue('invalid', `${method} needs a request body`));
    }
    const fhirReq: FhirRequest = {
      method: method as HttpMethod,
      url: relative + (queryAt < 0 ? '' : raw.slice(queryAt)),
      pathname: '',
      body,
      params: {},
      query: {},
      headers: req.headers,
      // Without this a transaction Bundle is processed like a batch (failed entries do not fail the whole).
      config: { transactions: true },
    };
    const result = await this.router.handleRequest(fhirReq, this.repo);
    return toHttpReply(result, {
      baseUrl: this.baseUrl,
      prefer: [req.headers.prefer ?? []].flat().join(','),
      method,
      body,
      isCreation: (r) => this.repo.isCreation(r),
    });
  }

  private relativePath(pathname: string): string | undefined {
    if (this.basePath === '/') {
      return pathname.replace(/^\/+/, '');
    }
    if (pathname === this.basePath) {
      return '';
    }
    return pathname.startsWith(this.basePath + '/') ? pathname.slice(this.basePath.length + 1) : undefined;
  }
}

// A search by POST may carry no parameters; every other POST, and every PUT and PATCH, sends content.
function needsBody(method: string, relative: string): boolean {
  return method === 'PUT' || method === 'PATCH' || (method === 'POST' && !relative.endsWith('_search'));
}

function parseBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (bytes.length === 0) {
    return undefined;
  }
  const mime = contentType?.split(';')[0]?.trim().toLowerCase();
  const text = bytes.toString('utf8');
  if (mime === 'application/x-www-form-urlencoded') {
    return formToQuery(text);
  }
  if (mime !== undefined && mime !== '' && !mime.endsWith('json')) {
    throw new OperationOutcomeError(unsupportedMediaType);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new OperationOutcomeError(badRequest(`Request body is not valid JSON: ${(err as Error).message}`));
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new OperationOutcomeError(badRequest('Request body must be a JSON object or array'));
  }
  return parsed;
}

function formToQuery(text: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/** The whole body, or undefined when it passes the limit (the rest is drained so the reply can be read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) {
      chunks.push(chunk);
    }
  }
  return size <= limit ? Buffer.concat(chunks, size) : undefined;
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

function issue(code: OperationOutcomeIssue['code'], diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** Errors the adapter raises on purpose carry their status; anything else is a bug, hence 500. */
function errorReply(err: unknown): HttpReply {
  if (err instanceof OperationOutcomeError) {
    return reply(getStatus(err.outcome), err.outcome);
  }
  return reply(500, serverError(err instanceof Error ? err : new Error(String(err))));
}

function send(res: ServerResponse, r: HttpReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(r.status, { 'content-type': FHIR_JSON, ...r.headers });
  res.end(r.body);
}

function listen(server: ReturnType<typeof createServer>, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
