import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
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

export interface ProxyOptions {
  pool: Pool;
  /** Upstream FHIR base URL, e.g. http://hapi:8080/fhir */
  upstreamBase: string;
  /** The gateway path the FHIR API is served under, e.g. /fhir */
  basePath: string;
  rewriter: UrlRewriter;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
}

export type Proxy = (ex: Exchange) => void;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate, br: createBrotliDecompress };

/**
 * Forwards a request under the FHIR base to the upstream, streaming both bodies with
 * backpressure. Must be called synchronously from the uWS handler (it registers onData).
 */
export function createProxy(opts: ProxyOptions): Proxy {
  const upstreamPath = new URL(opts.upstreamBase).pathname.replace(/\/+$/, '');

  return function proxy(ex: Exchange): void {
    const declared = Number(ex.headers.get('content-length') ?? 0);
    if (declared > opts.maxBodyBytes) {
      sendOutcome(ex, 413, 'too-costly', `Request body of ${declared} bytes is larger than the limit of ${opts.maxBodyBytes} bytes`, { closeConnection: true });
      return;
    }
    const withBody = hasBody(ex);
    const body = withBody ? bodyStream(ex, opts.maxBodyBytes) : undefined;
    const path = upstreamPath + ex.path.slice(opts.basePath.length) + (ex.query ? `?${ex.query}` : '');
    forward(ex, path, body).catch((err: unknown) => {
      opts.logger.error({ err, reqId: ex.requestId }, 'proxy failed unexpectedly');
      if (!ex.responded) sendOutcome(ex, 500, 'exception', 'The gateway failed to forward the request');
      else if (!ex.aborted) ex.res.close();
    });
  };

  async function forward(ex: Exchange, path: string, body: Readable | undefined): Promise<void> {
    const controller = new AbortController();
    ex.onAbort(() => controller.abort());
    const sendsBody = body !== undefined || ['POST', 'PUT', 'PATCH'].includes(ex.method);

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await opts.pool.request({
        path,
        method: ex.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(ex, body !== undefined),
        body: body ?? (sendsBody ? '' : undefined),
        signal: controller.signal,
      });
    } catch (err) {
      body?.destroy();
      answerFailure(ex, err, body !== undefined);
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
      source = decoder
        ? (pipeline(upstream.body, decoder, opts.rewriter.stream(), () => {}) as unknown as Readable)
        : (pipeline(upstream.body, opts.rewriter.stream(), () => {}) as unknown as Readable);
    }
    const headers = clientResponseHeaders(upstream.headers, (v) => opts.rewriter.header(v), drop);

    ex.responded = true;
    const noBody = ex.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      upstream.body.resume();
      ex.res.cork(() => {
        writeHead(ex.res, status, headers, ex.requestId);
        // A HEAD answer still reports the length the GET would have had.
        if (ex.method === 'HEAD' && size !== undefined) ex.res.endWithoutBody(size);
        else ex.res.endWithoutBody();
      });
      ex.finish(status);
      return;
    }
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
    body?.destroy();
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
      case 'unreachable':
        opts.metrics.upstreamErrors.inc({ kind: 'unreachable' });
        opts.logger.warn({ reqId: ex.requestId, detail: failure.detail }, 'upstream unreachable');
        sendOutcome(ex, 502, 'transient', 'The FHIR server could not be reached', { closeConnection: uploading });
        return;
    }
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseLength(v: string | string[] | undefined): number | undefined {
  const s = headerValue(v);
  if (s === undefined || !/^\d+$/.test(s)) return undefined;
  return Number(s);
}
