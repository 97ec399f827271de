import { Transform } from 'node:stream';

/**
 * Replaces the upstream's own base URL(s) with the gateway's public base URL, in headers and in
 * streamed bodies, so that no link a client follows bypasses the gateway and nothing of the
 * upstream's address reaches a client.
 *
 * A base is found however it is spelled: scheme and host in any case, with or without the
 * scheme's default port, plain, JSON-escaped (`http:\/\/hapi\/fhir`) or percent-encoded
 * (`http%3A%2F%2Fhapi%2Ffhir`, as in a paging link's query), and only where it ends (not inside
 * `/fhirX`). The path stays case-sensitive, as servers treat it.
 *
 * Headers are locators, so there an upstream origin outside the base (`Refresh: 0; url=http://hapi/`,
 * a `WWW-Authenticate` realm) becomes the gateway's origin too. Bodies are data, where a URL on the
 * upstream's origin but outside its base may be a canonical identifier: only the base is replaced.
 */
export class UrlRewriter {
  private readonly body: Matcher;
  private readonly headers: Matcher;

  constructor(upstreamBases: string[], publicBase: string) {
    const target = new URL(trimSlash(publicBase));
    const bases: Needle[] = [];
    const origins: Needle[] = [];
    for (const raw of new Set(upstreamBases.map(trimSlash))) {
      const upstream = new URL(raw);
      const path = trimSlash(upstream.pathname);
      const to = trimSlash(publicBase);
      if (sameOrigin(upstream, target) && path === trimSlash(target.pathname)) continue;
      for (const origin of originSpellings(upstream)) {
        bases.push(...spellings(origin, path, to, path === '' ? HOST_CONTINUES : PATH_CONTINUES));
        if (!sameOrigin(upstream, target)) origins.push(...spellings(origin, '', target.origin, HOST_CONTINUES));
      }
    }
    this.body = new Matcher(bases);
    this.headers = new Matcher([...bases, ...origins]);
  }

  get active(): boolean {
    return !this.body.empty;
  }

  /** For any response header value. */
  header(value: string): string {
    if (this.headers.empty) return value;
    return this.headers.replace(Buffer.from(value, 'latin1'), true).out.toString('latin1');
  }

  /** For bodies the gateway has buffered anyway. */
  text(body: string): string {
    if (this.body.empty) return body;
    return this.body.replace(Buffer.from(body), true).out.toString();
  }

  /** A byte-level replacing stream; a match split across chunks is still found. */
  stream(): Transform {
    let carry: Buffer = Buffer.alloc(0);
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        const { out, rest } = this.body.replace(carry.length ? Buffer.concat([carry, chunk]) : chunk, false);
        carry = rest;
        cb(null, out.length ? out : undefined);
      },
      flush: (cb) => {
        const { out } = this.body.replace(carry, true);
        cb(null, out.length ? out : undefined);
      },
    });
  }
}

interface Needle {
  /** Lower-cased bytes to search for. */
  lower: Buffer;
  /** Offsets whose byte must also match in case (the path). */
  exact: Array<[number, number]>;
  replacement: Buffer;
  /** True when what follows the match at `after` shows it was part of something longer. */
  continues: (buf: Buffer, after: number) => boolean;
}

const isWordByte = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
// After a base, a path segment letter continues it (/fhirX); after a bare origin, so do a port or
// a longer host name (hapi:8080 is not hapi, hapi.internal is not hapi).
const PATH_CONTINUES = (buf: Buffer, at: number) => isWordByte(buf[at]!);
const HOST_CONTINUES = (buf: Buffer, at: number) => {
  const b = buf[at]!;
  if (isWordByte(b) || b === 0x3a || b === 0x40) return true;
  // The same in the percent-encoded spelling: %3A (a port) or %40.
  const escape = buf.toString('latin1', at, at + 3).toLowerCase();
  return escape === '%3a' || escape === '%40';
};

/** scheme://host[:port], and the same without the port when it is the scheme's default. */
function originSpellings(url: URL): string[] {
  const explicit = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  const out = [`${url.protocol}//${url.hostname}:${explicit}`];
  if (url.port === '') out.push(`${url.protocol}//${url.hostname}`);
  return out;
}

/** Plain, JSON-escaped and percent-encoded forms of origin+path, each to the same form of `to`. */
function spellings(origin: string, path: string, to: string, continues: Needle['continues']): Needle[] {
  const forms: Array<[string, string, string]> = [
    [origin, path, to],
    [origin.replaceAll('/', '\\/'), path.replaceAll('/', '\\/'), to.replaceAll('/', '\\/')],
    [encodeURIComponent(origin), encodeURIComponent(path), encodeURIComponent(to)],
  ];
  return forms.map(([o, p, t]) => {
    const exact: Array<[number, number]> = [];
    // Percent escapes match in either case; everything else in the path exactly.
    for (let i = 0; i < p.length; i++) {
      if (p[i] === '%') i += 2;
      else if (/[A-Za-z]/.test(p[i]!)) exact.push([o.length + i, p.charCodeAt(i)]);
    }
    return { lower: Buffer.from((o + p).toLowerCase(), 'latin1'), exact, replacement: Buffer.from(t), continues };
  });
}

class Matcher {
  private readonly needles: Needle[];
  private readonly longest: number;

  constructor(needles: Needle[]) {
    const seen = new Set<string>();
    // Longest first, so that an alias which extends another wins at the same position.
    this.needles = needles
      .filter((n) => {
        const key = n.lower.toString('latin1') + JSON.stringify(n.exact);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => b.lower.length - a.lower.length);
    this.longest = Math.max(0, ...this.needles.map((n) => n.lower.length));
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  /**
   * Replaces complete matches that start before the last `longest + 2` bytes; those may be the start
   * of a match, or need the byte after it, that the next chunk brings, so they are carried unless
   * this is the end.
   */
  replace(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    // Two more than the longest needle: the bytes after a match decide whether it ended (%3A).
    const safeEnd = final ? buf.length : Math.max(0, buf.length - this.longest - 2);
    const lower = lowerAscii(buf);
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let at = -1;
      let which: Needle | undefined;
      for (const n of this.needles) {
        const p = this.find(buf, lower, n, pos, safeEnd);
        if (p >= 0 && (at < 0 || p < at)) {
          at = p;
          which = n;
        }
      }
      if (!which) break;
      parts.push(buf.subarray(pos, at), which.replacement);
      pos = at + which.lower.length;
    }
    const keepFrom = Math.max(pos, safeEnd);
    parts.push(buf.subarray(pos, keepFrom));
    return { out: parts.length === 1 ? parts[0]! : Buffer.concat(parts), rest: Buffer.from(buf.subarray(keepFrom)) };
  }

  private find(buf: Buffer, lower: Buffer, n: Needle, from: number, safeEnd: number): number {
    for (let p = lower.indexOf(n.lower, from); p >= 0 && p < safeEnd; p = lower.indexOf(n.lower, p + 1)) {
      const after = p + n.lower.length;
      if (after < buf.length && n.continues(buf, after)) continue;
      if (n.exact.every(([i, byte]) => buf[p + i] === byte)) return p;
    }
    return -1;
  }
}

/**
 * A lower-cased copy, byte for byte at the same offsets. Through latin1 (one char per byte), whose
 * lower-casing never changes the length; non-ASCII bytes may change too, but every needle is ASCII.
 */
function lowerAscii(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('latin1').toLowerCase(), 'latin1');
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.origin === b.origin;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** FHIR's text formats: the only bodies that carry the server's URLs. */
export function isRewritable(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/fhir+json' || type === 'application/json' || type === 'application/fhir+xml' || type === 'application/xml' || type === 'text/xml';
}
