import { SERVICE, type UpstreamClient } from '../upstream/fhir-client.js';
import type { FhirResource, ResourceChangeEvent } from './event.js';

interface HistoryBundle {
  resourceType: 'Bundle';
  entry?: Array<{ resource?: FhirResource; request?: { method?: string } }>;
}

/**
 * Reads the versions an event needs from the upstream, with the gateway's own credentials.
 * Undefined when the server no longer has them (deleted, or history not kept).
 */
export class VersionFetcher {
  constructor(private readonly client: UpstreamClient) {}

  /** The version the event is about: a vread when the version is known, else the current one. */
  async current(event: ResourceChangeEvent): Promise<FhirResource | undefined> {
    if (event.versionId) {
      const v = await this.client.request('GET', `${event.reference}/_history/${encodeURIComponent(event.versionId)}`, SERVICE);
      if (v.status === 200 && isResource(v.body, event)) return v.body;
    }
    const r = await this.client.request('GET', event.reference, SERVICE);
    return r.status === 200 && isResource(r.body, event) ? r.body : undefined;
  }

  /**
   * The version before the event's: from the instance history (newest first), the first version
   * with content older than the event's version. For a delete that is the last one that existed.
   */
  async previous(event: ResourceChangeEvent): Promise<FhirResource | undefined> {
    const res = await this.client.request('GET', `${event.reference}/_history?_count=50`, SERVICE);
    if (res.status === 200 && (res.body as HistoryBundle | undefined)?.resourceType === 'Bundle') {
      const entries = (res.body as HistoryBundle).entry ?? [];
      const at = event.versionId ? entries.findIndex((e) => e.resource?.meta?.versionId === event.versionId || (e.request?.method === 'DELETE' && !e.resource)) : 0;
      const from = event.interaction === 'delete' ? Math.max(0, at) : at + 1;
      for (const entry of at < 0 ? [] : entries.slice(from)) {
        if (entry.resource && isResource(entry.resource, event) && entry.resource.meta?.versionId !== event.versionId) return entry.resource;
      }
    }
    // Servers without instance history often still answer a vread of the prior numeric version.
    const n = Number(event.versionId);
    if (Number.isInteger(n) && n > 1) {
      const v = await this.client.request('GET', `${event.reference}/_history/${n - 1}`, SERVICE);
      if (v.status === 200 && isResource(v.body, event)) return v.body;
    }
    return undefined;
  }
}

function isResource(body: unknown, event: ResourceChangeEvent): body is FhirResource {
  const r = body as FhirResource | undefined;
  return r?.resourceType === event.resourceType && r.id === event.id;
}
