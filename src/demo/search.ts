import './websocket-global.js';
import { DEFAULT_SEARCH_COUNT, OperationOutcomeError, badRequest, formatSearchQuery, getSearchParameter, validateResourceType } from '@medplum/core';
import type { SearchRequest } from '@medplum/core';
import type { BundleLink } from '@medplum/fhirtypes';

export const MAX_SEARCH_COUNT = 1000;

// The router names a system-level search (GET [base]?_type=...) 'MultipleTypes'.
const SYSTEM_SEARCH = 'MultipleTypes';

/**
 * Rejects what a real server rejects and MemoryRepository silently answers with an empty Bundle: an unknown
 * resource type or search parameter. A typo in a test's filter then fails loudly instead of "no match".
 */
export function assertSearchable(request: SearchRequest): void {
  const type: string = request.resourceType;
  if (type === SYSTEM_SEARCH) {
    return;
  }
  validateResourceType(type);
  for (const [name, value] of [
    ['_count', request.count],
    ['_offset', request.offset],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw new OperationOutcomeError(badRequest(`${name} must be a non-negative integer`));
    }
  }
  for (const { code } of request.filters ?? []) {
    const chained = code.includes('.') || code.startsWith('_has:');
    if (!chained && !getSearchParameter(type, code)) {
      throw new OperationOutcomeError(badRequest(`Unknown search parameter "${code}" for resource type "${type}"`));
    }
  }
}

/** Paged search with the server's default and maximum page size. */
export function withPaging<T extends SearchRequest>(request: T): T {
  return {
    ...request,
    count: Math.min(request.count ?? DEFAULT_SEARCH_COUNT, MAX_SEARCH_COUNT),
    offset: request.offset ?? 0,
  };
}

/** self/next/previous, relative to the FHIR base (the HTTP layer makes them absolute). */
export function searchLinks(request: SearchRequest, total: number): BundleLink[] {
  const count = request.count ?? DEFAULT_SEARCH_COUNT;
  const offset = request.offset ?? 0;
  const path = (request.resourceType as string) === SYSTEM_SEARCH ? '' : request.resourceType;
  const at = (o: number): string => path + formatSearchQuery({ ...request, offset: o });
  const links: BundleLink[] = [{ relation: 'self', url: at(offset) }];
  if (count > 0 && offset + count < total) {
    links.push({ relation: 'next', url: at(offset + count) });
  }
  if (count > 0 && offset > 0) {
    links.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
  }
  return links;
}
