import { request } from 'undici';
import { startHttpServer } from './http-server.js';

export interface RecordingProxy {
  /** Base URL with the target's base path, to give the gateway as FHIR_UPSTREAM_URL. */
  url: string;
  /** Method and raw request target of every request that reached the upstream, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A pass-through in front of a real upstream that records what reached it, for tests that must
 * show a request never got there. Bodies and headers are forwarded as they are.
 */
export async function startRecordingProxy(targetBase: string): Promise<RecordingProxy> {
  const target = new URL(targetBase);
  const seen: string[] = [];
  const server = await startHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      delete headers['transfer-encoding'];
      request(`${target.origin}${req.url}`, { method: req.method as 'GET', headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
        .then(async (answer) => {
          const body = Buffer.from(await answer.body.arrayBuffer());
          const out = { ...answer.headers };
          delete out['transfer-encoding'];
          delete out.connection;
          delete out['content-length'];
          res.writeHead(answer.statusCode, out as Record<string, string>).end(body);
        })
        .catch(() => res.destroy());
    });
  });
  return { url: `${server.url}${target.pathname.replace(/\/+$/, '')}`, seen, close: server.close };
}
