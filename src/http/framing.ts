// Message framing checks uWebSockets.js leaves to us. Its parser already refuses (400, connection
// closed) a Content-Length that is not a plain number, a list in one header ("3, 3"), both
// Transfer-Encoding: chunked and Content-Length, obs-fold and malformed header names, and answers
// every HTTP/1.0 request 505 before any handler runs. What it lets through, and we refuse here:
// - Content-Length sent twice (uWS frames the body by the first one, so with "3" and "5" the last
//   two bytes would be read as the next request: request smuggling behind a proxy that used the
//   other value). Identical duplicates are refused too: RFC 9112 allows either, and no honest
//   client sends them.
// - a Transfer-Encoding other than exactly "chunked": uWS waits forever for a body it cannot frame
//   ("gzip", "identity"), or decodes the chunked layer and ignores the others ("gzip, chunked").
// Both answers close the connection: the bytes after the head cannot be trusted as framing.
// Pipelining needs nothing here: uWS answers pipelined requests in order while each is answered
// synchronously, and closes the connection at once when one arrives behind a pending response.

export interface FramingProblem {
  status: 400 | 501;
  reason: string;
}

/** headers: lower-case names, repeated headers joined with ", " (as Exchange keeps them). */
export function framingProblem(headers: ReadonlyMap<string, string>): FramingProblem | undefined {
  const length = headers.get('content-length');
  if (length !== undefined && !/^\d{1,15}$/.test(length.trim())) {
    return { status: 400, reason: 'Content-Length must be sent once, as a single number' };
  }
  const te = headers.get('transfer-encoding');
  if (te !== undefined) {
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    if (codings.length === 1 && codings[0] === 'chunked') return undefined;
    if (codings.at(-1) !== 'chunked') return { status: 400, reason: 'Transfer-Encoding of a request must end with chunked' };
    if (codings.filter((c) => c === 'chunked').length > 1) return { status: 400, reason: 'Transfer-Encoding names chunked more than once' };
    return { status: 501, reason: `Transfer-Encoding ${JSON.stringify(te.slice(0, 80))} is not supported: send the body with chunked alone, or with Content-Length` };
  }
  return undefined;
}
