import type { Readable } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Dispatcher, Pool } from 'undici';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { bodyStream, hasBody } from '../http/body.js';
import type { Exchange } from '../http/exchange.js';
import { sendOutcome, writeHead } from '../http/respond.js';
import { streamBody } from '../http/stream-response.js';
import { classify } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { isRewritable, type UrlRewriter } from './rewrite.js';

/** What the proxy saw of a successful write, for the event pipeline. */
export interface SeenWrite {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to the FHIR base, without leading slash or query: 'Patient/1', '' for transactions. */
  path: string;
  query: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The upstream's answer as it sent it, when small enough to keep. */
  body?: string;
  /** The request body of a transaction or batch, when small enough to keep. */
  requestBody?: string;
  receivedAt: Date;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Bodies kept for the event pipeline; larger ones are not kept and the pipeline reads the upstream. */
const KEEP_BYTES = 4 * 1024 * 1024;

export interface ProxyOptions {
  pool: Pool;
  /** Upstream FHIR base URL, e.g. http://hapi:8080/fhir */
  upstreamBase: string;
  rewriter: UrlRewriter;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
  /**
   * Called for a write the upstream accepted (2xx) once its answer has been read. When it returns
   * a promise, the client's response does not complete (its last bytes are held) until it settles:
   * the write's events are stored before the client can act on the answer.
   */
  onWrite?: (write: SeenWrite) => Promise<void> | undefined | void;
}

/**
 * `relative`: the normalised path under the FHIR base (http/request-path.ts), the only one forwarded.
 * `preread`: the request body, already read by a route that had to inspect it (transactions and
 * batches); it is sent as it is, and the response still streams.
 */
export type Proxy = (ex: Exchange, relative: string, preread?: Buffer) => void;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/**
 * Forwards a request under the FHIR base to the upstream, streaming both bodies with
 * backpressure. Must be called synchronously from the uWS handler (it registers onData).
 */
export function createProxy(opts: ProxyOptions): Proxy {
  const upstreamPath = new URL(opts.upstreamBase).pathname.replace(/\/+$/, '');

  return function proxy(ex: Exchange, relative: string, preread?: Buffer): void {
    const declared = Number(ex.headers.get('content-length') ?? 0);
    if (preread === undefined && declared > opts.maxBodyBytes) {
      sendOutcome(ex, 413, 'too-costly', `Request body of ${declared} bytes is larger than the limit of ${opts.maxBodyBytes} bytes`, { closeConnection: true });
      return;
    }
    const streamed = preread === undefined && hasBody(ex) ? bodyStream(ex, opts.maxBodyBytes) : undefined;
    const watched = opts.onWrite !== undefined && WRITES.has(ex.method);
    // Which entries of a transaction were deletes only the request says.
    const requestTap = watched && relative === '' ? (preread ? kept(preread) : streamed ? tapThrough(streamed) : undefined) : undefined;
    const body = preread !== undefined && preread.length > 0 ? preread : (requestTap?.stream ?? streamed);
    const path = (relative === '' ? upstreamPath || '/' : `${upstreamPath}/${relative}`) + (ex.query ? `?${ex.query}` : '');
    forward(ex, path, body, watched ? { relative, requestTap } : undefined).catch((err: unknown) => {
      opts.logger.error({ err, reqId: ex.requestId }, 'proxy failed unexpectedly');
      if (!ex.responded) sendOutcome(ex, 500, 'exception', 'The gateway failed to forward the request');
      else if (!ex.aborted) ex.res.close();
    });
  };

  async function forward(ex: Exchange, path: string, body: Readable | Buffer | undefined, watch: { relative: string; requestTap?: Tap } | undefined): Promise<void> {
    const controller = new AbortController();
    ex.onAbort(() => controller.abort());
    const sendsBody = body !== undefined || ['POST', 'PUT', 'PATCH'].includes(ex.method);

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await opts.pool.request({
        path,
        method: ex.method,
        headers: upstreamRequestHeaders(ex, body !== undefined),
        body: body ?? (sendsBody ? '' : undefined),
        signal: controller.signal,
      });
    } catch (err) {
      release(body);
      answerFailure(ex, err, body !== undefined && !Buffer.isBuffer(body));
      return;
    }
    if (ex.aborted) {
      upstream.body.destroy();
      return;
    }
    const status = upstream.statusCode;
    const contentType = headerValue(upstream.headers['content-type']);
    const encoding = headerValue(upstream.headers['content-encoding'])?.toLowerCase();
    const rewrite = opts.rewriter.active && ex.method !== 'HEAD' && isRewritable(contentType) && (!encoding || encoding === 'identity' || encoding in DECODERS);

    const drop = new Set<string>();
    let source: Readable = upstream.body;
    let size: number | undefined = parseLength(upstream.headers['content-length']);
    if (rewrite) {
      // A rewritten body has a new length, and we only rewrite what we can read.
      drop.add('content-length');
      size = undefined;
      const decoder = encoding && encoding !== 'identity' ? DECODERS[encoding]!() : undefined;
      if (decoder) drop.add('content-encoding');
      source = decoder ? pipeline(upstream.body, decoder, opts.rewriter.stream(), () => {}) : pipeline(upstream.body, opts.rewriter.stream(), () => {});
    }
    const headers = clientResponseHeaders(upstream.headers, (v) => opts.rewriter.header(v), drop);
    const success = status >= 200 && status < 300;
    const responseTap = watch && success && !encoding ? tap(upstream.body) : undefined;
    const seen = (): Promise<void> | undefined | void => {
      if (!watch || !success || ex.aborted) return undefined;
      return opts.onWrite!({
        method: ex.method as SeenWrite['method'],
        path: watch.relative,
        query: ex.query,
        status,
        headers: upstream.headers,
        body: responseTap?.text(),
        requestBody: watch.requestTap?.text(),
        receivedAt: new Date(),
      });
    };

    ex.responded = true;
    const noBody = ex.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      upstream.body.resume();
      const held = seen();
      if (held) await held;
      if (ex.aborted) return;
      ex.res.cork(() => {
        writeHead(ex.res, status, headers, ex.requestId);
        // A HEAD answer still reports the length the GET would have had.
        if (ex.method === 'HEAD' && size !== undefined) ex.res.endWithoutBody(size);
        else ex.res.endWithoutBody();
      });
      ex.finish(status);
      return;
    }
    if (watch && success) source = holdEnd(source, seen);
    ex.res.cork(() => writeHead(ex.res, status, headers, ex.requestId));
    try {
      await streamBody(ex, source, size);
      ex.finish(ex.aborted ? ex.status : status);
    } catch (err) {
      const failure = classify(err);
      opts.metrics.upstreamErrors.inc({ kind: `body-${failure.kind}` });
      opts.logger.warn({ reqId: ex.requestId, failure }, 'upstream response body failed mid-stream; connection closed');
      ex.finish(status);
    }
    release(body);
  }

  /** Before any response byte: answer with an OperationOutcome; an unread upload closes the connection. */
  function answerFailure(ex: Exchange, err: unknown, uploading: boolean): void {
    const failure = classify(err);
    switch (failure.kind) {
      case 'client-aborted':
        return;
      case 'too-large':
        sendOutcome(ex, 413, 'too-costly', `Request body is larger than the limit of ${failure.limit} bytes`, { closeConnection: true });
        return;
      case 'timeout':
        opts.metrics.upstreamErrors.inc({ kind: 'timeout' });
        opts.logger.warn({ reqId: ex.requestId, detail: failure.detail }, 'upstream timed out');
        sendOutcome(ex, 504, 'timeout', 'The FHIR server did not answer in time', { closeConnection: uploading });
        return;
      case 'internal':
        opts.logger.error({ err, reqId: ex.requestId }, 'proxy failed');
        sendOutcome(ex, 500, 'exception', 'The gateway failed to forward the request', { closeConnection: uploading });
        return;
      case 'unreachable':
        opts.metrics.upstreamErrors.inc({ kind: 'unreachable' });
        opts.logger.warn({ reqId: ex.requestId, detail: failure.detail }, 'upstream unreachable');
        sendOutcome(ex, 502, 'transient', 'The FHIR server could not be reached', { closeConnection: uploading });
        return;
    }
  }
}

function release(body: Readable | Buffer | undefined): void {
  if (body !== undefined && !Buffer.isBuffer(body)) body.destroy();
}

interface Tap {
  /** The bytes seen, or undefined when there were more than KEEP_BYTES. */
  text: () => string | undefined;
}

function keeper(): Tap & { keep(chunk: Buffer): void } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    keep(chunk) {
      size += chunk.length;
      if (size <= KEEP_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    },
    text: () => (size <= KEEP_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined),
  };
}

/**
 * Keeps a copy of a response body as it streams. Safe only when the real consumer attaches its
 * own listener in the same tick, as the response path does.
 */
function tap(stream: Readable): Tap {
  const k = keeper();
  stream.on('data', (chunk: Buffer) => k.keep(chunk));
  return k;
}

/** An upload read whole already: kept as it is, within the same bound. */
function kept(body: Buffer): Tap & { stream?: undefined } {
  const k = keeper();
  k.keep(body);
  return { text: k.text };
}

/** A copy of an upload on its way to undici, which starts reading it only later. */
function tapThrough(stream: Readable): Tap & { stream: Readable } {
  const k = keeper();
  const through = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      k.keep(chunk);
      cb(null, chunk);
    },
  });
  pipeline(stream, through, () => {});
  return { stream: through, text: k.text };
}

/**
 * Passes a body through but keeps its last chunk until `before` (called once the whole body has
 * been read) settles, so the client's response cannot complete before it.
 */
function holdEnd(source: Readable, before: () => Promise<void> | undefined | void): Readable {
  let last: Buffer | undefined;
  const through = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const previous = last;
      last = chunk;
      cb(null, previous);
    },
    flush(cb) {
      const release = (): void => cb(null, last);
      const held = before();
      if (held) held.then(release, release);
      else release();
    },
  });
  pipeline(source, through, () => {});
  return through;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseLength(v: string | string[] | undefined): number | undefined {
  const s = headerValue(v);
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}
