// Canonical references (`url|version`) and the ordering of versions, shared by lookup and search.

export interface CanonicalParts {
  url: string;
  version?: string;
}

export function splitCanonical(canonical: string): CanonicalParts {
  const bar = canonical.indexOf('|');
  if (bar < 0) return { url: canonical };
  const version = canonical.slice(bar + 1);
  return version === '' ? { url: canonical.slice(0, bar) } : { url: canonical.slice(0, bar), version };
}

export function canonicalOf(topic: { url: string; version?: string }): string {
  return topic.version === undefined ? topic.url : `${topic.url}|${topic.version}`;
}

/** Whether `reference` (with or without `|version`) names `url` + `version`; no version in the reference matches any. */
export function canonicalMatches(reference: string, url: string, version: string | undefined): boolean {
  const ref = splitCanonical(reference);
  return ref.url === url && (ref.version === undefined || ref.version === version);
}

// Topic versions are free text in FHIR (versionAlgorithm is optional and rarely set); dotted
// numbers such as 1.10.0 are by far the common case, so compare numeric segments as numbers and
// everything else as text. An unversioned topic sorts before every versioned one.
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const as = a.split(/[.\-+]/);
  const bs = b.split(/[.\-+]/);
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const order = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x < y ? -1 : x > y ? 1 : 0;
    if (order !== 0) return Math.sign(order);
  }
  return 0;
}
