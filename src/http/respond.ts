import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { Exchange } from './exchange.js';
import { outcome, type IssueCode } from '../fhir/operation-outcome.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

export type HeaderList = Array<[string, string]>;

/**
 * Writes a complete response in one corked step; a no-op when the client has gone. closeConnection
 * is for answers given before the request body was read, whose unread rest would otherwise be
 * taken for the next request.
 */
export function send(ex: Exchange, status: number, headers: HeaderList, body: string | Buffer, closeConnection = false): void {
  if (ex.aborted || ex.responded) return;
  ex.responded = true;
  ex.res.cork(() => {
    writeHead(ex.res, status, headers, ex.requestId);
    ex.res.end(body, closeConnection);
  });
  ex.finish(status);
}

export function writeHead(res: HttpResponse, status: number, headers: HeaderList, requestId: string): void {
  res.writeStatus(statusLine(status));
  for (const [name, value] of headers) res.writeHeader(name, value);
  res.writeHeader('X-Request-Id', requestId);
}

export function sendJson(ex: Exchange, status: number, body: unknown, contentType = FHIR_JSON): void {
  send(ex, status, [['Content-Type', contentType]], JSON.stringify(body));
}

export function sendOutcome(ex: Exchange, status: number, code: IssueCode, diagnostics: string, opts: { expression?: string[]; closeConnection?: boolean } = {}): void {
  send(ex, status, [['Content-Type', FHIR_JSON]], JSON.stringify(outcome(code, diagnostics, { expression: opts.expression })), opts.closeConnection);
}
