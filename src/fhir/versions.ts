// Which FHIR release a server speaks, read from its CapabilityStatement, and the version string the
// gateway writes back for each release.
import type { FhirVersion } from '../config.js';

export const FHIR_VERSION_STRING: Readonly<Record<FhirVersion, string>> = {
  R4: '4.0.1',
  R4B: '4.3.0',
  R5: '5.0.0',
};

// Matched on major.minor only: patch levels and pre-release labels (4.0.0, 5.0.0-ballot,
// 5.0.0-snapshot3) share their release's resource shapes. 4.1/4.2 were interim builds whose
// Subscription shapes match none of the three, so they stay unknown.
const RELEASES: ReadonlyArray<[RegExp, FhirVersion]> = [
  [/^4\.0(?:[.-]|$)/, 'R4'],
  [/^4\.3(?:[.-]|$)/, 'R4B'],
  [/^5\.0(?:[.-]|$)/, 'R5'],
];

/** The release named by a CapabilityStatement's `fhirVersion`; undefined for anything else. */
export function fhirVersionFromCapability(cs: unknown): FhirVersion | undefined {
  if (typeof cs !== 'object' || cs === null || Array.isArray(cs)) return undefined;
  const { resourceType, fhirVersion } = cs as { resourceType?: unknown; fhirVersion?: unknown };
  if (resourceType !== 'CapabilityStatement' || typeof fhirVersion !== 'string') return undefined;
  const v = fhirVersion.trim();
  return RELEASES.find(([pattern]) => pattern.test(v))?.[1];
}
