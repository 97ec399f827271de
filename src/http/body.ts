import { Readable } from 'node:stream';
import type { Exchange } from './exchange.js';

export class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
  constructor(readonly limit: number) {
    super(`request body is larger than the limit of ${limit} bytes`);
  }
}

export class ClientAborted extends Error {
  override name = 'ClientAborted';
  constructor() {
    super('the client closed the connection');
  }
}

/** True when the request carries a body at all (RFC 9112 section 6.3). */
export function hasBody(ex: Exchange): boolean {
  const length = ex.headers.get('content-length');
  return ex.headers.has('transfer-encoding') || (length !== undefined && length !== '0');
}

/**
 * The request body as a stream. uWS delivers chunks as fast as the client sends them, so when the
 * consumer falls behind we pause the socket, which pushes back on the client through TCP.
 * Must be called synchronously in the route handler.
 */
export function bodyStream(ex: Exchange, limit: number): Readable {
  let received = 0;
  let paused = false;
  const stream = new Readable({
    read() {
      if (paused && !ex.aborted) {
        paused = false;
        ex.res.resume();
      }
    },
  });
  ex.res.onData((chunk, isLast) => {
    if (stream.destroyed) return;
    received += chunk.byteLength;
    if (received > limit) {
      stream.destroy(new BodyTooLarge(limit));
      return;
    }
    // uWS neuters the ArrayBuffer when this callback returns: Buffer.from(view) copies it.
    const more = chunk.byteLength === 0 || stream.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) {
      stream.push(null);
      // uWS may deliver data it had already read after pause(), so the body can end while the
      // socket is paused; nothing would resume it and the next request on the connection would hang.
      if (paused) {
        paused = false;
        ex.res.resume();
      }
    } else if (!more && !paused) {
      paused = true;
      ex.res.pause();
    }
  });
  ex.onAbort(() => stream.destroy(new ClientAborted()));
  return stream;
}

/** The whole request body, for the small JSON bodies of the operations the gateway owns. */
export function readBody(ex: Exchange, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let failed = false;
    ex.res.onData((chunk, isLast) => {
      if (failed) return;
      received += chunk.byteLength;
      if (received > limit) {
        failed = true;
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
    ex.onAbort(() => reject(new ClientAborted()));
  });
}
