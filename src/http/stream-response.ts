import type { Readable } from 'node:stream';
import type { Exchange } from './exchange.js';

/**
 * Streams a body into a uWS response at the pace the client reads it: when uWS reports
 * backpressure the source is paused until the socket drains. With a known size uWS sends a
 * Content-Length (tryEnd); without one, chunked encoding (write). Resolves when the body is sent
 * or the client has gone; rejects when the source fails, after closing the connection so the
 * client can tell the body is incomplete.
 */
export function streamBody(ex: Exchange, source: Readable, totalSize: number | undefined): Promise<void> {
  const res = ex.res;
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer | null = null;
    let pendingOffset = 0;
    let done = false;
    // The source may end while its last chunk still waits for the socket: finish then, not now.
    let sourceEnded = false;

    const settle = (err?: Error) => {
      if (done) return;
      done = true;
      if (err) {
        source.destroy();
        if (!ex.aborted) res.close();
        reject(err);
      } else resolve();
    };

    ex.onAbort(() => {
      source.destroy();
      settle();
    });

    res.onWritable((offset) => {
      if (pending === null) return true;
      if (totalSize === undefined) {
        pending = null;
        source.resume();
        return true;
      }
      const [ok, finished] = res.tryEnd(pending.subarray(offset - pendingOffset), totalSize);
      if (finished) {
        pending = null;
        settle();
      } else if (ok) {
        pending = null;
        if (sourceEnded) settle(new Error(`upstream body ended early (announced ${totalSize} bytes)`));
        else source.resume();
      }
      return ok;
    });

    source.on('data', (chunk: Buffer) => {
      if (done || ex.aborted) return;
      res.cork(() => {
        if (totalSize === undefined) {
          if (!res.write(chunk)) {
            pending = chunk;
            source.pause();
          }
          return;
        }
        const before = res.getWriteOffset();
        const [ok, finished] = res.tryEnd(chunk, totalSize);
        if (finished) settle();
        else if (!ok) {
          pending = chunk;
          pendingOffset = before;
          source.pause();
        }
      });
    });

    source.on('end', () => {
      if (done || ex.aborted) return;
      if (pending !== null && totalSize !== undefined) {
        sourceEnded = true;
        return;
      }
      if (totalSize === undefined) {
        res.cork(() => res.end());
        settle();
      } else if (totalSize === 0) {
        res.cork(() => res.end());
        settle();
      } else {
        // The source ended before the size it announced: only a closed connection says so.
        settle(new Error(`upstream body ended early (announced ${totalSize} bytes)`));
      }
    });

    source.on('error', (err) => settle(err));
  });
}
