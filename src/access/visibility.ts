// Which resources a credential may read, asked of the upstream (DELIVERY_AUTHORIZATION=upstream):
// the upstream's own access control decides what a binding, a replay or `$events` may carry.
//
// Guarantees:
// - One upstream question per distinct (credential, resource version): answers are cached for a
//   short while (bounded size and age), identical questions in flight share one request, and the
//   questions waiting for the same credential and resource type go out as one search
//   (`GET Type?_id=a,b,c&_elements=id&_count=n`, at most BATCH_MAX ids); a lone question is a read
//   (`GET Type/id`), which every server answers from its primary key. At most MAX_CONCURRENT
//   requests run at once; what arrives meanwhile waits and joins the next batch.
// - A deleted resource cannot be found by a search; it is checked with its history
//   (`GET Type/id/_history?_count=1`), which servers guard with the same read permission.
// - Only a clear answer is cached: 200 (the ids the search returned are visible, the others are
//   not), 403/404/410 (none is). 401 means the upstream no longer accepts the credential: the
//   verdict says so (the caller ends the binding) and the credential is refused without asking
//   for a while. Anything else (5xx, a timeout, a body that is not a Bundle) is "not visible" for
//   this question only, counted in fsg_delivery_auth_checks_total{result="failed"}: a failing
//   upstream never makes the gateway send what it could not confirm.
// - The search is about the resource as the upstream holds it now, not the exact version of the
//   event: servers do not agree on vread permissions for old versions, and every server supports
//   `_id`. A caller who may read the current version may read what changed.
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Credentials, UpstreamClient } from '../upstream/fhir-client.js';
import type { Credential } from './credentials.js';
import { TtlCache } from './ttl-cache.js';

export interface ResourceVersion {
  /** `Type/id` */
  reference: string;
  versionId?: string | undefined;
  /** The event deleted it: a search cannot find it any more. */
  deleted?: boolean | undefined;
}

export interface Verdict {
  /** The references (as given) that the credential may read. */
  visible: Set<string>;
  /** The upstream answered 401: it no longer accepts this credential at all. */
  unauthorized: boolean;
}

export interface VisibilityOptions {
  client: UpstreamClient;
  metrics: Metrics;
  logger: Logger;
  /** How long an answer is reused. */
  cacheTtlMs?: number;
  /** Most answers kept; the oldest go first. */
  cacheMaxEntries?: number;
  /** An upstream check that takes longer than this counts as failed. */
  timeoutMs?: number;
}

export const CACHE_TTL_MS = 30_000;
export const CACHE_MAX_ENTRIES = 100_000;
export const CHECK_TIMEOUT_MS = 5_000;
const BATCH_MAX = 50;
const MAX_CONCURRENT = 16;
const WARN_EVERY_MS = 10_000;

type Answer = 'visible' | 'hidden' | 'unauthorized' | 'failed';

interface Waiter {
  key: string;
  resolve: (answer: Answer) => void;
}

interface Group {
  key: string;
  credential: Credential;
  type: string;
  /** history: a deleted resource, one per group. */
  mode: 'search' | 'history';
  /** id → waiters (several versions of one resource may wait together). */
  ids: Map<string, Waiter[]>;
}

const REFERENCE = /^([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9\-.]{1,64})$/;

export class Visibility {
  private readonly cache: TtlCache<boolean>;
  /** Credentials the upstream answered 401, by id: refused without asking until the entry expires. */
  private readonly refused: TtlCache<true>;
  private readonly inflight = new Map<string, Promise<Answer>>();
  private readonly waiting: Group[] = [];
  /** The group still taking ids, per credential/type. */
  private readonly open = new Map<string, Group>();
  private running = 0;
  private scheduled = false;
  private lastWarning = 0;
  private readonly timeoutMs: number;

  constructor(private readonly opts: VisibilityOptions) {
    const ttl = opts.cacheTtlMs ?? CACHE_TTL_MS;
    this.cache = new TtlCache(opts.cacheMaxEntries ?? CACHE_MAX_ENTRIES, ttl);
    this.refused = new TtlCache(10_000, ttl);
    this.timeoutMs = opts.timeoutMs ?? CHECK_TIMEOUT_MS;
  }

  /** Which of `refs` the credential may read. Never rejects: what cannot be confirmed is not visible. */
  async check(credential: Credential, refs: readonly ResourceVersion[]): Promise<Verdict> {
    const visible = new Set<string>();
    if (this.refused.get(credential.id)) return { visible, unauthorized: true };
    // Cached answers are plain values on purpose (no promise per reference); Promise.all takes both.
    // eslint-disable-next-line @typescript-eslint/await-thenable
    const answers = await Promise.all(refs.map((ref) => this.answer(credential, ref)));
    let unauthorized = false;
    answers.forEach((answer, i) => {
      if (answer === 'visible') visible.add(refs[i]!.reference);
      else if (answer === 'unauthorized') unauthorized = true;
    });
    return { visible, unauthorized };
  }

  private answer(credential: Credential, ref: ResourceVersion): Answer | Promise<Answer> {
    const match = REFERENCE.exec(ref.reference);
    if (!match) return 'hidden';
    const key = `${credential.id} ${ref.reference} ${ref.versionId ?? ''} ${ref.deleted ? 'd' : ''}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.opts.metrics.deliveryAuthCacheHits.inc();
      return cached ? 'visible' : 'hidden';
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const answer = new Promise<Answer>((resolve) => this.enqueue(credential, match[1]!, match[2]!, ref.deleted === true, { key, resolve }));
    this.inflight.set(key, answer);
    return answer;
  }

  private enqueue(credential: Credential, type: string, id: string, deleted: boolean, waiter: Waiter): void {
    const mode = deleted ? 'history' : 'search';
    const groupKey = `${credential.id} ${mode} ${type}${deleted ? `/${id}` : ''}`;
    let group = this.open.get(groupKey);
    if (!group) {
      group = { key: groupKey, credential, type, mode, ids: new Map() };
      this.open.set(groupKey, group);
      this.waiting.push(group);
    }
    const waiters = group.ids.get(id);
    if (waiters) waiters.push(waiter);
    else group.ids.set(id, [waiter]);
    if (mode === 'history' || group.ids.size >= BATCH_MAX) this.open.delete(groupKey);
    if (!this.scheduled) {
      this.scheduled = true;
      // Questions asked in the same turn of the event loop (one delivery, one replay) go together.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    while (this.running < MAX_CONCURRENT && this.waiting.length > 0) {
      const group = this.waiting.shift()!;
      if (this.open.get(group.key) === group) this.open.delete(group.key);
      this.running++;
      void this.ask(group)
        .then((answers) => this.settle(group, answers))
        .finally(() => {
          this.running--;
          this.flush();
        });
    }
  }

  private settle(group: Group, answers: (id: string) => Answer): void {
    for (const [id, waiters] of group.ids) {
      const answer = answers(id);
      this.opts.metrics.deliveryAuthChecks.inc({ result: answer }, waiters.length);
      if (answer === 'unauthorized') this.refused.set(group.credential.id, true);
      for (const { key, resolve } of waiters) {
        if (answer === 'visible' || answer === 'hidden') this.cache.set(key, answer === 'visible');
        this.inflight.delete(key);
        resolve(answer);
      }
    }
  }

  /** One upstream request for the group; resolves to each id's answer, never rejects. */
  private async ask(group: Group): Promise<(id: string) => Answer> {
    const ids = [...group.ids.keys()];
    // One resource: a read, the cheapest question on every server (a key lookup, not a search).
    const read = group.mode === 'search' && ids.length === 1;
    const path =
      group.mode === 'history' ? `${group.type}/${ids[0]!}/_history?_count=1&_elements=id` : read ? `${group.type}/${ids[0]!}` : `${group.type}?_id=${ids.join(',')}&_elements=id&_count=${ids.length}`;
    const credentials: Credentials = { kind: 'caller', headers: new Map(group.credential.authorization === undefined ? [] : [['authorization', group.credential.authorization]]) };
    this.opts.metrics.deliveryAuthRequests.inc();
    let status: number;
    let body: unknown;
    try {
      ({ status, body } = await withTimeout(this.opts.client.request('GET', path, credentials), this.timeoutMs));
    } catch (err) {
      this.warn(group, { err: err instanceof Error ? err.message : String(err) });
      return () => 'failed';
    }
    if (status === 401) return () => 'unauthorized';
    if (status === 403 || status === 404 || status === 410) return () => 'hidden';
    const found = status !== 200 ? undefined : read ? resourceIds(body, group.type) : bundleIds(body, group.type);
    if (!found) {
      this.warn(group, { status });
      return () => 'failed';
    }
    if (group.mode === 'history') return () => 'visible';
    return (id) => (found.has(id) ? 'visible' : 'hidden');
  }

  private warn(group: Group, detail: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.opts.logger.warn(
      { ...detail, credential: group.credential.id, resourceType: group.type },
      'a delivery access check failed; the resources it was about are withheld (sent as empty) until the upstream answers',
    );
  }
}

/** The id of a read resource of `type`; undefined when the body is not one. */
function resourceIds(body: unknown, type: string): Set<string> | undefined {
  const resource = body as { resourceType?: unknown; id?: unknown } | null | undefined;
  return resource?.resourceType === type && typeof resource.id === 'string' ? new Set([resource.id]) : undefined;
}

/** Ids of the resources of `type` in a search Bundle; undefined when the body is not a Bundle. */
function bundleIds(body: unknown, type: string): Set<string> | undefined {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: unknown }).resourceType !== 'Bundle') return undefined;
  const entries = (body as { entry?: unknown }).entry;
  const ids = new Set<string>();
  if (entries === undefined) return ids;
  if (!Array.isArray(entries)) return undefined;
  for (const entry of entries as unknown[]) {
    const resource = (entry as { resource?: { resourceType?: unknown; id?: unknown } } | null)?.resource;
    if (resource?.resourceType === type && typeof resource.id === 'string') ids.add(resource.id);
  }
  return ids;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
