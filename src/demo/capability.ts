import './websocket-global.js';
import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceSearchParam, ResourceType } from '@medplum/fhirtypes';

const INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;

/** What the demo upstream supports, in the shape a client reads to learn the server's FHIR version. */
export function buildCapabilityStatement(baseUrl: string, date: string, fhirVersion = '4.0.1'): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'fhir-subscription-gateway demo upstream (@medplum/fhir-router, in memory)' },
    implementation: { description: 'Demo upstream with in-memory data; not for production', url: baseUrl },
    fhirVersion: fhirVersion as CapabilityStatement['fhirVersion'],
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        resource: getResourceTypes().map(resourceEntry),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

function resourceEntry(type: ResourceType): CapabilityStatementRestResource {
  const searchParam = Object.entries(getSearchParameters(type) ?? {}).map(([name, sp]): CapabilityStatementRestResourceSearchParam => ({ name, type: sp.type, definition: sp.url }));
  return {
    type,
    interaction: INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    ...(searchParam.length ? { searchParam } : {}),
  };
}
