// The rest-hook endpoint rule with its one piece of I/O: resolving the host. The rule itself is
// pure, in fhir/endpoint-rule.ts; this module asks DNS for every address of a name and refuses the
// endpoint when any of them fails the rule, or when the name does not resolve in time.
//
// Checked where an endpoint is stored (Subscription writes). Rest-hook delivery must check again on
// the addresses it dials (DNS can change between the two), with the same `check`.
import { lookup as dnsLookup } from 'node:dns/promises';
import { checkAddresses, parseEndpoint, parseIp, type Address, type AllowList, type EndpointVerdict } from '../fhir/endpoint-rule.js';

/** Resolves a host name to every address it has (dns.lookup with all: true, by default). */
export type Resolve = (host: string) => Promise<string[]>;

export interface EndpointCheckerOptions {
  allow: AllowList;
  resolve?: Resolve;
  /** A name that has not resolved by then is refused. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

const systemResolve: Resolve = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export class EndpointChecker {
  private readonly allow: AllowList;
  private readonly resolve: Resolve;
  private readonly timeoutMs: number;

  constructor(opts: EndpointCheckerOptions) {
    this.allow = opts.allow;
    this.resolve = opts.resolve ?? systemResolve;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Never rejects: a failure to resolve is a refusal with its reason. */
  async check(endpoint: string): Promise<EndpointVerdict> {
    const parsed = parseEndpoint(endpoint, this.allow);
    if (!parsed.ok) return parsed;
    if (parsed.allowedByName || parsed.literal) return { ok: true };
    let addresses: Address[];
    try {
      const resolved = await this.withTimeout(this.resolve(parsed.host));
      addresses = resolved.map((a) => parseIp(a)).filter((a): a is Address => a !== undefined);
      if (addresses.length !== resolved.length) return { ok: false, reason: `the endpoint host ${parsed.host} resolved to something that is not an IP address` };
    } catch (err) {
      return { ok: false, reason: `the endpoint host ${parsed.host} could not be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    return checkAddresses(parsed.host, addresses, this.allow);
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), this.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
