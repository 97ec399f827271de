import { allOk, badRequest, isResourceType, notFound } from '@medplum/core';
import type { FhirRequest, FhirResponse } from '@medplum/fhir-router';
import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import type { DemoRepository } from './repository.js';

const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;

/**
 * `GET [type]/_history` with `_since`, `_count` and `_offset`, paged with self/next links. fhir-router
 * routes only instance history; a real server (HAPI, Medplum) has this, and the gateway's catch-up
 * reads it.
 */
export function typeHistory(repo: DemoRepository, baseUrl: string): (req: FhirRequest) => Promise<FhirResponse> {
  return async (req) => {
    const resourceType = req.params.resourceType ?? '';
    if (!isResourceType(resourceType)) {
      return [notFound];
    }
    const query = req.query ?? {};
    const since = last(query._since);
    if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(since) || Number.isNaN(Date.parse(since)))) {
      return [badRequest('_since must be a FHIR instant, such as 2024-01-31T12:00:00Z', '_since')];
    }
    const count = integer(last(query._count), DEFAULT_COUNT);
    const offset = integer(last(query._offset), 0);
    if (count === undefined || count < 1 || offset === undefined) {
      return [badRequest('_count must be a positive integer and _offset a non-negative one')];
    }
    const size = Math.min(count, MAX_COUNT);
    const { total, entry } = repo.readTypeHistory(resourceType, { since, offset, count: size });
    const url = (at: number): string => {
      const params = new URLSearchParams({ ...(since ? { _since: since } : {}), _count: String(size), _offset: String(at) });
      return `${baseUrl}/${resourceType}/_history?${params.toString()}`;
    };
    const link: BundleLink[] = [{ relation: 'self', url: url(offset) }];
    if (offset + size < total) {
      link.push({ relation: 'next', url: url(offset + size) });
    }
    const bundle: Bundle = { resourceType: 'Bundle', type: 'history', total, link, entry };
    return [allOk, bundle];
  };
}

function last(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.at(-1) : value;
}

function integer(value: string | undefined, fallback: number): number | undefined {
  if (value === undefined) {
    return fallback;
  }
  return /^\d+$/.test(value) ? Number(value) : undefined;
}
