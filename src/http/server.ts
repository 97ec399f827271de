import { createServer } from 'node:net';
import uWS, { type ListenOptions, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { openExchange, type Exchange } from './exchange.js';
import { answeredEngineFailure } from './engine-failure.js';
import { framingProblem } from './framing.js';
import { sendOutcome } from './respond.js';

// ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT: the enum exists only in the typings, not at run time.
const EXCLUSIVE_PORT = 1 as ListenOptions;

export type Handler = (ex: Exchange) => void | Promise<void>;
type Method = 'get' | 'post' | 'put' | 'del' | 'patch' | 'any';

/**
 * The uWS app with the bookkeeping every route shares: an Exchange per request, a request log
 * line and metrics when it ends, a 500 OperationOutcome for a handler that throws, and the set
 * of requests in flight that shutdown waits for.
 */
export class HttpServer {
  readonly app: TemplatedApp = uWS.App();
  private listenSocket: us_listen_socket | null = null;
  private readonly inflight = new Set<Exchange>();
  private drained: (() => void) | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    silenceServerHeader();
    this.app.any('/*', (res, req) => {
      const ex = this.open(res, req, 'unknown');
      if (this.refuseFraming(ex)) return;
      sendOutcome(ex, 404, 'not-found', `No route for ${ex.method} ${ex.path}`);
    });
  }

  route(method: Method, pattern: string, routeClass: string, handler: Handler): this {
    this.app[method](pattern, (res, req) => {
      const ex = this.open(res, req, routeClass);
      if (this.refuseFraming(ex)) return;
      try {
        const pending = handler(ex);
        if (pending) pending.catch((err: unknown) => this.fail(ex, err));
      } catch (err) {
        this.fail(ex, err);
      }
    });
    return this;
  }

  /**
   * Listens with an exclusive port: uWS otherwise sets SO_REUSEPORT, and a second gateway on a busy
   * port would "listen" too, the kernel splitting connections between two processes with
   * different state. uWS says only "no"; the reason (in use, not permitted) is asked of the OS.
   */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      // The native listen takes (host, port, options, cb); the typings only know (port, options, cb).
      const listen = this.app.listen.bind(this.app) as unknown as (host: string, port: number, options: ListenOptions, cb: (socket: us_listen_socket | false) => void) => void;
      listen(host, port, EXCLUSIVE_PORT, (socket) => {
        if (socket) {
          this.listenSocket = socket;
          resolve(uWS.us_socket_local_port(socket));
          return;
        }
        void listenFailure(host, port).then((reason) => reject(new Error(`cannot listen on ${host}:${port}: ${reason}`)));
      });
    });
  }

  /** Closes the listening socket: no new connections; requests on open ones still complete. */
  stopAccepting(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Resolves when no request is in flight, or after timeoutMs; returns how many were cut off. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.drained = null;
    return this.inflight.size;
  }

  /** Forcefully closes every remaining connection. */
  close(): void {
    this.stopAccepting();
    this.app.close();
  }

  private open(res: uWS.HttpResponse, req: uWS.HttpRequest, routeClass: string): Exchange {
    const ex = openExchange(res, req, routeClass);
    this.inflight.add(ex);
    ex.onFinish(() => {
      this.inflight.delete(ex);
      const seconds = Number(process.hrtime.bigint() - ex.startedAt) / 1e9;
      this.metrics.httpRequests.inc({ route: ex.route, method: ex.method, status: String(ex.status) });
      this.metrics.httpDuration.observe({ route: ex.route }, seconds);
      const level = ex.route === 'health' || ex.route === 'metrics' ? 'debug' : 'info';
      // The query is left out on purpose: FHIR searches carry patient identifiers.
      this.logger[level]({ reqId: ex.requestId, method: ex.method, path: ex.path, status: ex.status, ms: Math.round(seconds * 1000), route: ex.route }, 'request completed');
      if (this.inflight.size === 0) this.drained?.();
    });
    return ex;
  }

  /** Answers a request whose body cannot be framed safely, closing the connection; true if it did. */
  private refuseFraming(ex: Exchange): boolean {
    const problem = framingProblem(ex.headers);
    if (!problem) return false;
    // Not answered in this tick: uWS goes on parsing what followed in the same read as the next
    // request, even after an answer that closes the connection, and would serve a smuggled one.
    // With this request still pending, uWS closes the connection instead the moment one follows;
    // when nothing does, the refusal goes out on the next turn of the loop.
    setImmediate(() => sendOutcome(ex, problem.status, problem.status === 501 ? 'not-supported' : 'structure', problem.reason, { closeConnection: true }));
    return true;
  }

  private fail(ex: Exchange, err: unknown): void {
    if (answeredEngineFailure(ex, err)) {
      this.logger.warn({ reqId: ex.requestId, err: (err as Error).message }, 'event store unavailable; answered 503');
      return;
    }
    this.logger.error({ err, reqId: ex.requestId }, 'request handler failed');
    if (!ex.responded) sendOutcome(ex, 500, 'exception', 'Internal error in the gateway');
    else if (!ex.aborted) {
      ex.res.close();
      ex.finish(ex.status || 500);
    }
  }
}

/**
 * uWS writes a `uWebSockets: 20` header on every response, naming the server software to anyone
 * probing the gateway. Its addon has an undocumented switch for this (`_cfg`, absent from the
 * typings); without it (a uWS build that drops the switch) the header stays, and the test that
 * checks its absence says so. uWS's own error pages (400, 431, 505 written before any handler runs)
 * still name uWS in their body: only a reverse proxy in front can hide those.
 */
function silenceServerHeader(): void {
  const cfg = (uWS as unknown as { _cfg?: (key: string) => void })._cfg;
  if (typeof cfg === 'function') cfg('silent');
}

/** Why a port cannot be listened on, found by trying it with Node's own socket (which reports errno). */
async function listenFailure(host: string, port: number): Promise<string> {
  const server = createServer();
  const code = await new Promise<string | undefined>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    server.listen({ host, port, exclusive: true }, () => resolve(undefined));
  });
  if (code === undefined) await new Promise((resolve) => server.close(resolve));
  switch (code) {
    case 'EADDRINUSE':
      return 'the port is already in use by another process';
    case 'EACCES':
      return 'not permitted (a port below 1024 needs privileges)';
    case 'EADDRNOTAVAIL':
      return "the address is not one of this host's";
    case undefined:
      return 'refused by the HTTP server library (the port was free when checked again)';
    default:
      return `the operating system refused it (${code})`;
  }
}
