// The one resource every benchmark write carries: a ~1 KB Patient whose `bench-write` extension says
// which run and write it is and when it was sent, so a client in another process can measure
// write→frame latency and check, frame by frame, that what arrived is exactly what was written.
export const WRITE_MARK = 'urn:fhir-subscription-gateway:bench-write';

export interface WriteMark {
  run: string;
  seq: number;
  /** Wall-clock send time in ms with sub-ms precision (performance.timeOrigin + performance.now()). */
  sentAt: number;
}

export interface BenchPatient {
  resourceType: 'Patient';
  id: string;
  meta?: { versionId?: string; lastUpdated?: string };
  extension: Array<{ url: string; valueString: string }>;
  [key: string]: unknown;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The Patient as written (no meta: the upstream, or the publisher, assigns it). */
export function benchPatient(id: string, mark: WriteMark): BenchPatient {
  return {
    resourceType: 'Patient',
    id,
    extension: [{ url: WRITE_MARK, valueString: `${mark.run}|${mark.seq}|${mark.sentAt.toFixed(3)}` }],
    identifier: [{ use: 'usual', system: 'urn:oid:1.2.36.146.595.217.0.1', value: `MRN-${id}`, period: { start: '2001-05-06' }, assigner: { display: 'Acme Healthcare' } }],
    active: true,
    name: [
      { use: 'official', family: 'Chalmers', given: ['Peter', 'James'] },
      { use: 'usual', given: ['Jim'] },
    ],
    telecom: [{ use: 'home' }, { system: 'phone', value: '(03) 5555 6473', use: 'work', rank: 1 }, { system: 'email', value: 'peter.chalmers@example.org', use: 'home' }],
    gender: 'male',
    birthDate: '1974-12-25',
    deceasedBoolean: false,
    address: [
      { use: 'home', type: 'both', text: '534 Erewhon St, PleasantVille, Rainbow, Vic 3999', line: ['534 Erewhon St'], city: 'PleasantVille', district: 'Rainbow', state: 'Vic', postalCode: '3999' },
    ],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-AU' }] }, preferred: true }],
  };
}

/** The mark of a resource, or undefined when it carries none (or a malformed one). */
export function readMark(resource: unknown): WriteMark | undefined {
  if (!resource || typeof resource !== 'object') return undefined;
  const ext = (resource as { extension?: unknown }).extension;
  if (!Array.isArray(ext)) return undefined;
  const found = ext.find((e): e is { url: string; valueString: string } => !!e && typeof e === 'object' && (e as { url?: unknown }).url === WRITE_MARK);
  if (!found || typeof found.valueString !== 'string') return undefined;
  const [run, seq, sentAt] = found.valueString.split('|');
  const mark = { run: run ?? '', seq: Number(seq), sentAt: Number(sentAt) };
  return run && Number.isInteger(mark.seq) && Number.isFinite(mark.sentAt) ? mark : undefined;
}

/** True when `resource` is exactly the Patient written with this mark, apart from the meta the server assigned. */
export function isWritten(resource: unknown, id: string, mark: WriteMark): boolean {
  if (!resource || typeof resource !== 'object') return false;
  const { meta, ...rest } = resource as BenchPatient;
  if (!meta || typeof meta.versionId !== 'string') return false;
  // Compared as text: the upstream keeps the written members in their order, and this is several
  // times cheaper than a deep comparison, which matters at tens of thousands of frames a second.
  return JSON.stringify(rest) === expected(id, mark);
}

// A breadth write reaches every socket with the same mark: build what was written once per write.
const cache = new Map<string, string>();
function expected(id: string, mark: WriteMark): string {
  const key = `${id}|${mark.run}|${mark.seq}|${mark.sentAt}`;
  let patient = cache.get(key);
  if (!patient) {
    if (cache.size >= 4096) cache.clear();
    patient = JSON.stringify(benchPatient(id, mark));
    cache.set(key, patient);
  }
  return patient;
}
