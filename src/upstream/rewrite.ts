import { Transform } from 'node:stream';

/**
 * Replaces the upstream's own base URL(s) with the gateway's public base URL, in headers and in
 * streamed bodies, so that no link a client follows bypasses the gateway.
 */
export class UrlRewriter {
  private readonly needles: Buffer[];
  private readonly replacements: Buffer[];
  private readonly plain: Array<[string, string]>;
  private readonly longest: number;

  constructor(upstreamBases: string[], publicBase: string) {
    const pairs: Array<[string, string]> = [];
    for (const base of new Set(upstreamBases.map(trimSlash))) {
      if (base === trimSlash(publicBase)) continue;
      pairs.push([base, trimSlash(publicBase)]);
      // JSON allows "\/" for "/": some serialisers write URLs that way.
      pairs.push([base.replaceAll('/', '\\/'), trimSlash(publicBase).replaceAll('/', '\\/')]);
    }
    // Longest first, so that an alias which extends another wins at the same position.
    pairs.sort((a, b) => b[0].length - a[0].length);
    this.plain = pairs.filter(([from]) => !from.includes('\\'));
    this.needles = pairs.map(([from]) => Buffer.from(from));
    this.replacements = pairs.map(([, to]) => Buffer.from(to));
    this.longest = Math.max(0, ...this.needles.map((n) => n.length));
  }

  get active(): boolean {
    return this.needles.length > 0;
  }

  /** For Location, Content-Location and Link: a prefix match on the upstream base. */
  header(value: string): string {
    let out = value;
    for (const [from, to] of this.plain) out = out.replaceAll(from, to);
    return out;
  }

  /** For bodies the gateway has buffered anyway. */
  text(body: string): string {
    const { out } = this.replace(Buffer.from(body), true);
    return out.toString();
  }

  /** A byte-level replacing stream; a match split across chunks is still found. */
  stream(): Transform {
    let carry: Buffer = Buffer.alloc(0);
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        const { out, rest } = this.replace(carry.length ? Buffer.concat([carry, chunk]) : chunk, false);
        carry = rest;
        cb(null, out.length ? out : undefined);
      },
      flush: (cb) => {
        const { out } = this.replace(carry, true);
        cb(null, out.length ? out : undefined);
      },
    });
  }

  /**
   * Replaces complete matches that start before the last (longest - 1) bytes; those bytes may be
   * the start of a match the next chunk completes, so they are carried unless this is the end.
   */
  private replace(buf: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const safeEnd = final ? buf.length : Math.max(0, buf.length - (this.longest - 1));
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let at = -1;
      let which = -1;
      for (let i = 0; i < this.needles.length; i++) {
        const p = buf.indexOf(this.needles[i]!, pos);
        if (p >= 0 && p < safeEnd && (at < 0 || p < at)) {
          at = p;
          which = i;
        }
      }
      if (at < 0) break;
      parts.push(buf.subarray(pos, at), this.replacements[which]!);
      pos = at + this.needles[which]!.length;
    }
    const keepFrom = Math.max(pos, safeEnd);
    parts.push(buf.subarray(pos, keepFrom));
    return { out: parts.length === 1 ? parts[0]! : Buffer.concat(parts), rest: Buffer.from(buf.subarray(keepFrom)) };
  }
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** FHIR's text formats: the only bodies that carry the server's URLs. */
export function isRewritable(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/fhir+json' || type === 'application/json' || type === 'application/fhir+xml' || type === 'application/xml' || type === 'text/xml';
}
