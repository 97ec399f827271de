// Which rest-hook endpoints the gateway may call: `https` on public hosts, unless RESTHOOK_ALLOW
// names them. Pure (no DNS): the caller resolves the host and hands the addresses to
// `checkAddresses`; channels/resthook-endpoint.ts does that I/O.
//
// Refused address classes: unspecified, loopback, private (RFC 1918, fc00::/7, fec0::/10),
// link-local (169.254/16, fe80::/10), CGNAT (100.64/10), multicast, reserved and documentation
// ranges, and cloud metadata addresses (169.254.169.254, fd00:ec2::254, ...). IPv4 in any spelling
// (decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`) and IPv6 forms that carry an IPv4 address
// (mapped `::ffff:a.b.c.d`, compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are normalised to
// the IPv4 address first, so no spelling gets around a range.
//
// The rule is checked where an endpoint is stored (a Subscription write) and must be checked again
// right before each delivery, on the addresses actually dialled: DNS can change in between.

export type AddressClass = 'public' | 'unspecified' | 'loopback' | 'private' | 'link-local' | 'cgnat' | 'multicast' | 'reserved' | 'metadata';

export interface Address {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

/** RESTHOOK_ALLOW, parsed: host names (exact, or `*.suffix`) and address ranges. */
export interface AllowList {
  hosts: ReadonlySet<string>;
  /** Lower-case suffixes with their leading dot, from `*.example.org` entries. */
  suffixes: readonly string[];
  ranges: readonly Cidr[];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), suffixes: [], ranges: [] };

export type EndpointVerdict = { ok: true } | { ok: false; reason: string };

/** A checked URL, ready for resolution: `literal` when the host is an IP address. */
export type ParsedEndpoint = { ok: true; url: URL; host: string; literal: Address | undefined; allowedByName: boolean } | { ok: false; reason: string };

/** Host names that reach a cloud's instance metadata service without DNS telling. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.internal']);

const METADATA_ADDRESSES = ['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254', 'fd00:ec2::23'].map((a) => parseIp(a)!);

// Ranges in the order they are tested; the first that holds decides. Metadata addresses are
// checked before these so they are named as such.
const RANGES: Array<[string, AddressClass]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'reserved'],
  ['2001:db8::/32', 'reserved'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'],
  ['ff00::/8', 'multicast'],
].map(([cidr, kind]) => [cidr, kind] as [string, AddressClass]);
const PARSED_RANGES: Array<[Cidr, AddressClass]> = RANGES.map(([cidr, kind]) => [parseCidr(cidr)!, kind]);

const DESCRIPTION: Record<Exclude<AddressClass, 'public'>, string> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  metadata: 'a cloud metadata address',
};

/**
 * Parses RESTHOOK_ALLOW entries: `hooks.example.org`, `*.example.org`, `10.1.2.3`, `10.0.0.0/8`,
 * `[fd00::1]`, `fd00::/8`. Throws a RangeError naming the first entry that is none of those.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const ranges: Cidr[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const cidr = parseCidr(entry.replace(/^\[(.*)\]$/, '$1'));
    if (cidr) {
      ranges.push(cidr);
      continue;
    }
    const name = normaliseName(entry.startsWith('*.') ? entry.slice(2) : entry);
    if (!name || !/^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(name)) {
      throw new RangeError(`${JSON.stringify(raw)} is neither a host name (optionally *.suffix) nor an IP address or CIDR range`);
    }
    if (entry.startsWith('*.')) suffixes.push(`.${name}`);
    else hosts.add(name);
  }
  return { hosts, suffixes, ranges };
}

/**
 * The checks that need no DNS: an absolute http(s) URL without credentials; `https` unless the host
 * is allow-listed (by name, or as an address in an allowed range); an IP literal or a name known to
 * be loopback or metadata is refused here already.
 */
export function parseEndpoint(text: string, allow: AllowList): ParsedEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: `the endpoint ${JSON.stringify(text)} is not an absolute URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: `the endpoint must be an https URL (got ${url.protocol})` };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'the endpoint must not carry credentials in its URL; send them in channel headers' };
  const host = normaliseName(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (!host) return { ok: false, reason: 'the endpoint has no host' };
  const literal = parseIp(host);
  const allowedByName = literal ? allowedAddress(literal, allow) : nameAllowed(host, allow);
  if (url.protocol === 'http:' && !allowedByName) return { ok: false, reason: `the endpoint must use https (http is allowed only for hosts RESTHOOK_ALLOW names)` };
  if (allowedByName) return { ok: true, url, host, literal, allowedByName };
  if (literal) {
    const verdict = checkAddresses(host, [literal], allow);
    if (!verdict.ok) return verdict;
  } else if (host === 'localhost' || host.endsWith('.localhost')) {
    return { ok: false, reason: `the endpoint host ${host} is a loopback name; name it in RESTHOOK_ALLOW to allow it` };
  } else if (METADATA_NAMES.has(host)) {
    return { ok: false, reason: `the endpoint host ${host} is a cloud metadata service` };
  }
  return { ok: true, url, host, literal, allowedByName };
}

/**
 * Every address the host resolved to must pass: public, or inside a range RESTHOOK_ALLOW names
 * (one bad address is enough to refuse, since a client may be sent to any of them).
 */
export function checkAddresses(host: string, addresses: readonly Address[], allow: AllowList): EndpointVerdict {
  if (addresses.length === 0) return { ok: false, reason: `the endpoint host ${host} has no address` };
  for (const address of addresses) {
    if (allowedAddress(address, allow)) continue;
    const kind = classifyAddress(address);
    if (kind !== 'public') {
      const shown = formatAddress(address);
      const via = shown === host ? '' : ` (${host} resolves to ${shown})`;
      return { ok: false, reason: `the endpoint ${host} is ${DESCRIPTION[kind]}${via}; name it in RESTHOOK_ALLOW to allow it` };
    }
  }
  return { ok: true };
}

/** The class of an address, IPv4 carried in IPv6 classified as the IPv4 address. */
export function classifyAddress(input: Address): AddressClass {
  const address = embeddedIpv4(input) ?? input;
  if (METADATA_ADDRESSES.some((m) => sameAddress(m, address))) return 'metadata';
  for (const [range, kind] of PARSED_RANGES) if (inRange(address, range)) return kind;
  return 'public';
}

/**
 * An IPv4 address in any spelling inet_aton accepts (`127.0.0.1`, `2130706433`, `0x7f.0.0.1`,
 * `0177.1`) or an IPv6 address (zone ids dropped); undefined when it is neither.
 */
export function parseIp(text: string): Address | undefined {
  const s = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (s.includes(':')) return parseIpv6(s);
  return parseIpv4(s);
}

export function formatAddress(a: Address): string {
  if (a.family === 4) return [...a.bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((a.bytes[i]! << 8) | a.bytes[i + 1]!).toString(16));
  // Collapse the longest run of zero groups, as RFC 5952 says.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function parseIpv4(s: string): Address | undefined {
  const parts = s.split('.');
  if (parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x[0-9a-f]*$/i.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) v = parseInt(p, 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) v = Number(p);
    else return undefined;
    if (!Number.isSafeInteger(v)) return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let n = last;
  values.forEach((v, i) => (n += v * 2 ** (8 * (3 - i))));
  return { family: 4, bytes: Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) };
}

function parseIpv6(s: string): Address | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseStrictIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return { family: 6, bytes };
}

/** Dotted quad only, as the tail of an IPv6 address must be. */
function parseStrictIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) return undefined;
  // Ranges are written as dotted quads or IPv6; `10` alone is a host name, not 0.0.0.10.
  const address = addr.includes(':') ? parseIpv6(addr) : parseStrictIpv4(addr) ? parseIpv4(addr) : undefined;
  if (!address) return undefined;
  const max = address.family === 4 ? 32 : 128;
  if (bits === undefined) return { ...address, bits: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  const mapped = embeddedIpv4(address);
  // A range of IPv4-mapped addresses is the IPv4 range, so it matches either spelling.
  if (mapped && address.family === 6 && Number(bits) >= 96 && isMapped(address)) return { ...mapped, bits: Number(bits) - 96 };
  return { ...address, bits: Number(bits) };
}

function isMapped(a: Address): boolean {
  return a.family === 6 && a.bytes.slice(0, 10).every((b) => b === 0) && a.bytes[10] === 0xff && a.bytes[11] === 0xff;
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIpv4(a: Address): Address | undefined {
  if (a.family === 4) return undefined;
  const b = a.bytes;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = (at: number): Address => ({ family: 4, bytes: b.slice(at, at + 4) });
  if (isMapped(a)) return v4(12);
  // IPv4-compatible (deprecated ::a.b.c.d), but not :: or ::1 themselves.
  if (zeros(0, 12) && !zeros(12, 15)) return v4(12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2);
  return undefined;
}

function inRange(a: Address, range: Cidr): boolean {
  if (a.family !== range.family) return false;
  const full = Math.floor(range.bits / 8);
  for (let i = 0; i < full; i++) if (a.bytes[i] !== range.bytes[i]) return false;
  const rest = range.bits % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a.bytes[full]! & mask) === (range.bytes[full]! & mask);
}

function sameAddress(a: Address, b: Address): boolean {
  return a.family === b.family && a.bytes.every((x, i) => x === b.bytes[i]);
}

function allowedAddress(a: Address, allow: AllowList): boolean {
  const v4 = embeddedIpv4(a);
  return allow.ranges.some((r) => inRange(a, r) || (v4 !== undefined && inRange(v4, r)));
}

function nameAllowed(host: string, allow: AllowList): boolean {
  return allow.hosts.has(host) || allow.suffixes.some((s) => host.endsWith(s));
}

/** Lower case, without the trailing dot of a fully qualified name. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
