import './websocket-global.js';
import { OperationOutcomeError, allOk, badRequest, created, deepClone, gone, multipleMatches, notFound, validateResource } from '@medplum/core';
import type { SearchRequest, WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { CreateResourceOptions, DeleteResourceOptions, ReadHistoryOptions, SearchOptions } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { assertSearchable, searchLinks, withPaging } from './search.js';

interface Version {
  versionId: string;
  lastUpdated: string;
  method: 'POST' | 'PUT' | 'DELETE';
  /** This version brought the resource into existence: a create, an update-as-create, a re-create after delete. */
  created: boolean;
  /** Absent for a deletion. */
  resource?: Resource;
}

export interface DemoRepositoryOptions {
  /** Validate writes against the R4 definitions (a 400 on failure); default true. */
  validate?: boolean;
  /** Largest decoded base64Binary accepted by validation. */
  maxBinaryBytes?: number;
}

/**
 * MemoryRepository with the behaviour of a real FHIR server where Medplum's in-memory one differs:
 * sequential version ids ("1", "2", ...), POST ignores a client id, deleted resources answer 410 and keep
 * their history, history is newest first (MemoryRepository reverses its stored array in place on every
 * read, so its order flips between calls), searches are paged with self/next/previous links, unknown
 * search parameters are a 400, writes are validated, and a failed transaction is rolled back.
 */
export class DemoRepository extends MemoryRepository {
  // Our own log of every version, keyed "Type/id": the base class keeps its history private.
  private readonly versions = new Map<string, Version[]>();
  // Undo steps of the transaction in progress. Everything here resolves in microtasks, so a transaction
  // runs to completion before another request's handler starts and the journal holds only its writes.
  private journal: (() => Promise<void>)[] | undefined;

  constructor(private readonly opts: DemoRepositoryOptions = {}) {
    super();
  }

  override async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions, update = false): Promise<WithId<T>> {
    const id = (update || options?.assignedId) && resource.id ? resource.id : this.generateId();
    const log = this.log(resource.resourceType, id);
    const previous = log.at(-1);
    const version: Version = {
      versionId: String(log.length + 1),
      lastUpdated: new Date().toISOString(),
      method: update ? 'PUT' : 'POST',
      created: previous === undefined || previous.method === 'DELETE',
    };
    const meta = { ...resource.meta, versionId: version.versionId, lastUpdated: version.lastUpdated };
    const toStore = { ...resource, id, meta };
    if (this.opts.validate !== false) {
      validateResource(toStore, { base64BinaryMaxBytes: this.opts.maxBinaryBytes ?? 64 * 1024 * 1024 });
    }
    // Reserve the version number before the write; the write itself is synchronous inside the base class.
    log.push(version);
    try {
      // Seeding is the only mode in which the base class keeps the meta we set. Every write passes through
      // here and sets both fields, so the flag staying on briefly after withSeeding cannot leak client meta.
      const stored = await this.withSeeding(() => super.createResource(toStore, options, update));
      version.resource = deepClone(stored);
      this.journal?.push(() => this.undo(resource.resourceType, id, version, previous));
      return stored;
    } catch (err) {
      this.unlog(resource.resourceType, id, version);
      throw err;
    }
  }

  // The base version writes through a private method, which would bypass the version log above.
  override async conditionalCreate<T extends Resource>(resource: T, search: SearchRequest<T>, options?: CreateResourceOptions): Promise<{ resource: WithId<T>; outcome: OperationOutcome }> {
    if (search.resourceType !== resource.resourceType) {
      throw new OperationOutcomeError(badRequest('Search type must match resource type for conditional create'));
    }
    const matches = await this.searchResources({ ...search, count: 2, offset: 0, sortRules: undefined });
    if (matches.length > 1) {
      throw new OperationOutcomeError(multipleMatches);
    }
    if (matches[0]) {
      return { resource: matches[0], outcome: allOk };
    }
    return { resource: await this.createResource(resource, options), outcome: created };
  }

  override async deleteResource(resourceType: string, id: string, options?: DeleteResourceOptions): Promise<void> {
    const log = this.log(resourceType, id);
    const previous = log.at(-1);
    const version: Version = {
      versionId: String(log.length + 1),
      lastUpdated: new Date().toISOString(),
      method: 'DELETE',
      created: false,
    };
    log.push(version);
    try {
      await super.deleteResource(resourceType, id, options);
      this.journal?.push(() => this.undo(resourceType, id, version, previous));
    } catch (err) {
      this.unlog(resourceType, id, version);
      throw err;
    }
  }

  override async expungeResources(resourceType: string, ids: string[]): Promise<void> {
    await super.expungeResources(resourceType, ids);
    for (const id of ids) {
      this.versions.delete(`${resourceType}/${id}`);
    }
  }

  override clear(): void {
    super.clear();
    this.versions.clear();
  }

  override async withTransaction<TResult>(callback: (repo: this) => Promise<TResult>): Promise<TResult> {
    if (this.journal) {
      return callback(this);
    }
    const journal: (() => Promise<void>)[] = [];
    this.journal = journal;
    try {
      return await callback(this);
    } catch (err) {
      for (const undo of journal.reverse()) {
        await undo();
      }
      throw err;
    } finally {
      this.journal = undefined;
    }
  }

  override async readResource<T extends Resource>(resourceType: string, id: string): Promise<T> {
    if (this.versions.get(`${resourceType}/${id}`)?.at(-1)?.method === 'DELETE') {
      throw new OperationOutcomeError(gone);
    }
    return super.readResource<T>(resourceType, id);
  }

  override async readVersion<T extends Resource>(resourceType: string, id: string, versionId: string): Promise<T> {
    const version = this.versions.get(`${resourceType}/${id}`)?.find((v) => v.versionId === versionId);
    if (!version) {
      throw new OperationOutcomeError(notFound);
    }
    if (!version.resource) {
      throw new OperationOutcomeError(gone);
    }
    return deepClone(version.resource) as T;
  }

  override async readHistory<T extends Resource>(resourceType: string, id: string, options?: ReadHistoryOptions): Promise<Bundle<T>> {
    const log = this.versions.get(`${resourceType}/${id}`);
    if (!log?.length) {
      throw new OperationOutcomeError(notFound);
    }
    const offset = options?.offset ?? 0;
    const newestFirst = log
      .slice()
      .reverse()
      .slice(offset, offset + (options?.limit ?? log.length));
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: log.length,
      entry: newestFirst.map((v) => historyEntry<T>(resourceType, id, v)),
    };
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>, options?: SearchOptions): Promise<Bundle<WithId<T>>> {
    assertSearchable(searchRequest);
    // Internal lookups (includes, conditional writes) ask for resourceOnly and must not be paged.
    if (options?.resourceOnly) {
      return super.search(searchRequest);
    }
    const paged = withPaging(searchRequest);
    const bundle = await super.search(paged);
    bundle.link = searchLinks(paged, bundle.total ?? 0);
    return bundle;
  }

  /**
   * Type-level history (`GET [type]/_history`), which fhir-router does not route: every version of
   * every resource of the type, newest first, changed at or after `since` when given.
   */
  readTypeHistory(resourceType: string, options: { since?: string; offset: number; count: number }): { total: number; entry: BundleEntry[] } {
    const since = options.since === undefined ? undefined : Date.parse(options.since);
    const all: { id: string; v: Version }[] = [];
    for (const [key, log] of this.versions) {
      const slash = key.indexOf('/');
      if (key.slice(0, slash) !== resourceType) {
        continue;
      }
      for (const v of log) {
        if (since === undefined || Date.parse(v.lastUpdated) >= since) {
          all.push({ id: key.slice(slash + 1), v });
        }
      }
    }
    // Newest first; versions written in the same millisecond keep the order they were made in.
    all.reverse().sort((a, b) => Date.parse(b.v.lastUpdated) - Date.parse(a.v.lastUpdated));
    const page = all.slice(options.offset, options.offset + options.count);
    return { total: all.length, entry: page.map(({ id, v }) => historyEntry(resourceType, id, v)) };
  }

  isCreation(resource: Resource): boolean {
    const log = this.versions.get(`${resource.resourceType}/${resource.id}`);
    return log?.find((v) => v.versionId === resource.meta?.versionId)?.created ?? false;
  }

  /** Puts back the state before `version`: the previous live version, or nothing. */
  private async undo(resourceType: string, id: string, version: Version, previous: Version | undefined): Promise<void> {
    if (previous?.resource) {
      const restore = previous.resource;
      await this.withSeeding(() => super.createResource(restore, undefined, true));
    } else {
      // The base expunge, not ours: the versions before this one stay in the log.
      await super.expungeResources(resourceType, [id]);
    }
    this.unlog(resourceType, id, version);
  }

  private unlog(resourceType: string, id: string, version: Version): void {
    const log = this.log(resourceType, id);
    log.splice(log.indexOf(version), 1);
    if (!log.length) {
      this.versions.delete(`${resourceType}/${id}`);
    }
  }

  private log(resourceType: string, id: string): Version[] {
    const key = `${resourceType}/${id}`;
    let log = this.versions.get(key);
    if (!log) {
      log = [];
      this.versions.set(key, log);
    }
    return log;
  }
}

function historyEntry<T extends Resource>(resourceType: string, id: string, v: Version): BundleEntry<T> {
  return {
    ...(v.resource ? { resource: deepClone(v.resource) as T } : {}),
    request: { method: v.method, url: v.method === 'POST' ? resourceType : `${resourceType}/${id}` },
    response: {
      status: v.created ? '201' : '200',
      etag: `W/"${v.versionId}"`,
      lastModified: v.lastUpdated,
    },
  };
}
