import type { Dispatcher, Pool } from 'undici';

export interface FhirResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined when empty or not JSON. */
  body: unknown;
}

/** Whose authority a call carries: the gateway's own, or the caller's forwarded credentials. */
export type Credentials = { kind: 'service' } | { kind: 'caller'; headers: ReadonlyMap<string, string> };

export const SERVICE: Credentials = { kind: 'service' };

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    readonly response: FhirResponse,
    what: string,
  ) {
    super(`${what}: the FHIR server answered ${response.status}`);
  }
}

export interface Bundle {
  resourceType: 'Bundle';
  link?: Array<{ relation?: string; url?: string }>;
  entry?: Array<{ resource?: unknown; fullUrl?: string; request?: { method?: string; url?: string }; response?: { status?: string; etag?: string; lastModified?: string } }>;
}

/**
 * The FHIR calls the gateway makes itself (registry, topics, authorization checks), as opposed
 * to the requests it proxies. Paths are relative to the upstream FHIR base.
 */
export class UpstreamClient {
  private readonly basePath: string;
  private readonly origin: string;

  constructor(
    private readonly pool: Pool,
    upstreamBase: string,
    private readonly serviceAuthorization?: string,
  ) {
    const url = new URL(upstreamBase);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
  }

  async request(method: Dispatcher.HttpMethod, path: string, credentials: Credentials, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<FhirResponse> {
    return this.send(method, `${this.basePath}/${path.replace(/^\/+/, '')}`, credentials, body, extraHeaders);
  }

  /** Every resource of a search, following `next` links (which must stay on the upstream). */
  async *search(path: string, credentials: Credentials, maxPages = 1000): AsyncGenerator<unknown> {
    for await (const { bundle } of this.pages(path, credentials, maxPages)) {
      for (const entry of bundle.entry ?? []) if (entry.resource) yield entry.resource;
    }
  }

  /** Each page of a Bundle-returning read (search, history), following `next` links on the upstream. */
  async *pages(path: string, credentials: Credentials, maxPages = 1000): AsyncGenerator<{ bundle: Bundle; headers: FhirResponse['headers'] }> {
    let next: string | undefined = `${this.basePath}/${path.replace(/^\/+/, '')}`;
    const what = path.split('?')[0];
    for (let page = 0; next && page < maxPages; page++) {
      const res = await this.send('GET', next, credentials);
      if (res.status !== 200) throw new UpstreamError(res, `GET ${what}`);
      const bundle = res.body as Bundle | undefined;
      if (bundle?.resourceType !== 'Bundle') throw new UpstreamError(res, `GET ${what} did not return a Bundle`);
      yield { bundle, headers: res.headers };
      next = this.sameOriginPath(bundle.link?.find((l) => l.relation === 'next')?.url);
    }
  }

  private sameOriginPath(url: string | undefined): string | undefined {
    if (!url) return undefined;
    const u = new URL(url, this.origin);
    // A next link elsewhere would send our credentials to another host.
    return u.origin === this.origin ? u.pathname + u.search : undefined;
  }

  private async send(method: Dispatcher.HttpMethod, fullPath: string, credentials: Credentials, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<FhirResponse> {
    const headers: Record<string, string> = { accept: 'application/fhir+json', ...extraHeaders };
    if (credentials.kind === 'service') {
      if (this.serviceAuthorization) headers.authorization = this.serviceAuthorization;
    } else {
      for (const name of ['authorization', 'cookie']) {
        const value = credentials.headers.get(name);
        if (value !== undefined) headers[name] = value;
      }
    }
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] ??= 'application/fhir+json';
    }
    const res = await this.pool.request({ method, path: fullPath, headers, body: payload });
    const text = await res.body.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }
}
