import './websocket-global.js';
import { getStatus } from '@medplum/core';
import type { FhirResponse } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export interface ReplyContext {
  baseUrl: string;
  /** The request's Prefer header. */
  prefer?: string;
  method: string;
  /** The parsed request body; for a batch, its entries line up with the response's. */
  body: unknown;
  /** Tells whether this version of the resource created it (update-as-create, or re-creation after delete). */
  isCreation(resource: Resource): boolean;
}

const GENERATED_BUNDLES = new Set<Bundle['type']>(['searchset', 'history', 'batch-response', 'transaction-response']);

export function reply(status: number, body: Resource, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'content-type': FHIR_JSON, ...headers }, body: JSON.stringify(body) };
}

/** Turns the router's [outcome, resource] into what a real FHIR server sends over HTTP. */
export function toHttpReply([outcome, resource]: FhirResponse, ctx: ReplyContext): HttpReply {
  let status = getStatus(outcome);
  if (!resource) {
    return reply(status, outcome);
  }
  if (status === 200 && ctx.method === 'PUT' && ctx.isCreation(resource)) {
    status = 201;
  }
  if (isGeneratedBundle(resource)) {
    absolutize(resource, ctx);
  }
  const headers = versionHeaders(resource);
  if (status === 201 && headers.etag) {
    headers.location = `${ctx.baseUrl}/${historyPath(resource)}`;
  }
  const body = preferredBody(ctx.prefer, outcome, resource);
  return body ? reply(status, body, headers) : { status, headers };
}

function preferredBody(prefer: string | undefined, outcome: OperationOutcome, resource: Resource): Resource | undefined {
  const wanted = /return=([\w-]+)/i.exec(prefer ?? '')?.[1]?.toLowerCase();
  if (wanted === 'minimal') {
    return undefined;
  }
  return wanted === 'operationoutcome' ? outcome : resource;
}

function versionHeaders(resource: Resource): Record<string, string> {
  const { id, meta } = resource;
  if (!id || !meta?.versionId) {
    return {};
  }
  const headers: Record<string, string> = { etag: `W/"${meta.versionId}"` };
  if (meta.lastUpdated) {
    headers['last-modified'] = new Date(meta.lastUpdated).toUTCString();
  }
  return headers;
}

function historyPath(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}

// A Bundle the server made up (search, history, batch response) has no id; a stored Bundle has one and
// must come back exactly as it was written.
function isGeneratedBundle(resource: Resource): resource is Bundle {
  return resource.resourceType === 'Bundle' && !resource.id && GENERATED_BUNDLES.has(resource.type);
}

/**
 * The repository writes links relative to the base and Medplum sets no fullUrl; a real server sends absolute
 * URLs on its own base, and the gateway's tests check that it rewrites exactly those.
 */
function absolutize(bundle: Bundle, ctx: ReplyContext): void {
  for (const link of bundle.link ?? []) {
    if (link.url !== undefined && !/^[a-z][a-z0-9+.-]*:/i.test(link.url)) {
      link.url = link.url === '' || link.url.startsWith('?') ? ctx.baseUrl + link.url : `${ctx.baseUrl}/${link.url}`;
    }
  }
  const isBatch = bundle.type === 'batch-response' || bundle.type === 'transaction-response';
  const requests = isBatch ? requestEntries(ctx.body) : [];
  bundle.entry = bundle.entry?.map((entry, i) => {
    if (isBatch && entry.resource && entry.response) {
      describeWrite(entry, entry.resource, requests[i]?.request?.method === 'PUT' && ctx.isCreation(entry.resource));
    }
    const target = entry.resource?.id ? `${entry.resource.resourceType}/${entry.resource.id}` : deletedTarget(entry);
    // fullUrl first, where servers conventionally put it.
    return target && !entry.fullUrl ? { fullUrl: `${ctx.baseUrl}/${target}`, ...entry } : entry;
  });
}

function deletedTarget(entry: BundleEntry): string | undefined {
  const url = entry.request?.method === 'DELETE' ? entry.request.url : undefined;
  return url && /^[A-Za-z]+\/[^/?]+$/.test(url) ? url : undefined;
}

function requestEntries(body: unknown): BundleEntry[] {
  const entries = (body as Partial<Bundle> | undefined)?.entry;
  return Array.isArray(entries) ? entries : [];
}

function describeWrite(entry: BundleEntry, resource: Resource, created: boolean): void {
  const response = entry.response;
  const headers = versionHeaders(resource);
  if (!response || !headers.etag) {
    return;
  }
  if (response.status === '200' && created) {
    response.status = '201';
  }
  if (response.location) {
    response.location = historyPath(resource);
  }
  response.etag = headers.etag;
  response.lastModified = resource.meta?.lastUpdated;
}
