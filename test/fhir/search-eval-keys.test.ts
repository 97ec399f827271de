import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import type { FhirResource } from '../../src/events/event.js';
import { evaluateFilter, filterKeys, indexKeys, type FilterSpec } from '../../src/fhir/search-eval/index.js';

// Deterministic, so a failure reproduces.
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REFERENCES: unknown[] = [
  { reference: 'Patient/1' },
  { reference: 'Patient/2' },
  { reference: 'Patient/1/_history/3' },
  { reference: 'https://fhir.example.org/r4/Patient/1' },
  { reference: 'http://other.example.org/Patient/2/_history/1' },
  { reference: 'Group/g1' },
  { reference: 'Practitioner/1' },
  { reference: '#c1' },
  { reference: 'urn:uuid:7f1c' },
  { reference: 'urn:uuid:7f1c', type: 'Patient' },
  { type: 'Patient', identifier: { system: 'urn:mrn', value: '42' } },
  { display: 'someone' },
];
const CODINGS: unknown[] = [
  { system: 'http://loinc.org', code: '1234-5' },
  { system: 'http://loinc.org', code: '9999-9' },
  { system: 'http://snomed.info/sct', code: '1234-5' },
  { code: '1234-5' },
  { system: 'http://loinc.org' },
  { system: 'urn:a|b', code: 'x,y' },
  { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
];
const STATUSES = ['finished', 'in-progress', 'planned', 'final', 'amended'];
const IDENTIFIERS: unknown[] = [{ system: 'urn:oid:1.2.3', value: 'V-1' }, { system: 'urn:oid:1.2.4', value: 'V-1' }, { value: 'V-2' }, { system: 'urn:mrn', value: '42' }];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}

function some<T>(rnd: () => number, items: readonly T[], max = 3): T[] {
  const n = Math.floor(rnd() * (max + 1));
  return Array.from({ length: n }, () => pick(rnd, items));
}

function maybe<T>(rnd: () => number, value: T): T | undefined {
  return rnd() < 0.7 ? value : undefined;
}

function resource(rnd: () => number, type: string): FhirResource {
  const common = {
    id: pick(rnd, ['1', '2', 'x']),
    meta: { tag: some(rnd, CODINGS, 2), security: some(rnd, CODINGS, 1) },
    contained: [{ resourceType: pick(rnd, ['Patient', 'Group']), id: 'c1' }],
  };
  const codeable = () => ({ coding: some(rnd, CODINGS, 2) });
  switch (type) {
    case 'Encounter':
      return {
        resourceType: 'Encounter',
        ...common,
        status: maybe(rnd, pick(rnd, STATUSES)),
        class: maybe(rnd, pick(rnd, CODINGS)),
        type: some(rnd, [codeable()], 1),
        subject: maybe(rnd, pick(rnd, REFERENCES)),
        participant: some(rnd, REFERENCES, 2).map((individual) => ({ individual })),
        identifier: some(rnd, IDENTIFIERS, 2),
      };
    case 'Observation':
      return {
        resourceType: 'Observation',
        ...common,
        status: maybe(rnd, pick(rnd, STATUSES)),
        code: maybe(rnd, codeable()),
        category: some(rnd, [codeable(), codeable()], 2),
        subject: maybe(rnd, pick(rnd, REFERENCES)),
        performer: some(rnd, REFERENCES, 2),
        hasMember: some(rnd, REFERENCES, 1),
      };
    default:
      return {
        resourceType: 'Patient',
        ...common,
        active: maybe(rnd, rnd() < 0.5),
        gender: maybe(rnd, pick(rnd, ['female', 'male', 'other'])),
        identifier: some(rnd, IDENTIFIERS, 2),
        telecom: some(
          rnd,
          [
            { system: 'email', value: 'a@b.org' },
            { system: 'phone', value: '123' },
          ],
          2,
        ),
        generalPractitioner: some(rnd, REFERENCES, 2),
        managingOrganization: maybe(rnd, { reference: pick(rnd, ['Organization/o1', 'Organization/o2']) }),
      };
  }
}

const PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  Encounter: ['patient', 'subject', 'status', 'class', 'type', 'identifier', 'participant', 'practitioner', '_id', '_tag', '_security'],
  Observation: ['code', 'subject', 'patient', 'status', 'category', 'performer', 'has-member', '_id', '_tag'],
  Patient: ['gender', 'identifier', 'email', 'telecom', 'active', 'general-practitioner', 'organization', '_id', '_security'],
};

const REFERENCE_VALUES = [
  'Patient/1',
  'Patient/2',
  '1',
  '2',
  'x',
  'g1',
  'Group/g1',
  'Practitioner/1',
  'Organization/o1',
  'https://elsewhere.org/fhir/Patient/1',
  'Patient/1/_history/3',
  'urn:uuid:7f1c',
  '#c1',
  'http://example.org/Library/a|1',
];
const REFERENCE_PARAMETERS = new Set(['patient', 'subject', 'participant', 'practitioner', 'performer', 'has-member', 'general-practitioner', 'organization']);
const VALUES = [
  ...REFERENCE_VALUES,
  '1234-5',
  'http://loinc.org|1234-5',
  '|1234-5',
  'http://loinc.org|',
  'http://snomed.info/sct|1234-5',
  'urn:a\\|b|x\\,y',
  'x\\,y',
  'AMB',
  'finished',
  'final',
  'planned',
  'http://hl7.org/fhir/encounter-status|finished',
  'female',
  'true',
  'false',
  'V-1',
  'urn:oid:1.2.3|V-1',
  '|V-2',
  'urn:mrn|42',
  'a@b.org',
  'email|a@b.org',
  '',
  'a,',
  '|',
];
const MODIFIERS = [undefined, undefined, undefined, 'Patient', 'Group', 'not', 'missing', 'identifier', 'text'];

function filter(rnd: () => number, type: string): FilterSpec {
  const parameter = pick(rnd, PARAMETERS[type] ?? []);
  const pool = REFERENCE_PARAMETERS.has(parameter) && rnd() < 0.8 ? REFERENCE_VALUES : VALUES;
  const items = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => pick(rnd, pool));
  const f: FilterSpec = { resourceType: type, parameter, value: items.join(',') };
  const modifier = pick(rnd, MODIFIERS);
  if (modifier) f.modifier = modifier;
  if (rnd() < 0.05) f.comparator = 'eq';
  return f;
}

describe('search-eval: indexKeys and filterKeys', () => {
  it('gives reference keys in relative form, without base or version', () => {
    const obs: FhirResource = {
      resourceType: 'Observation',
      subject: { reference: 'https://fhir.example.org/r4/Patient/123/_history/4' },
      performer: [{ reference: 'Practitioner/9' }, { reference: 'urn:uuid:1' }],
    };
    expect(indexKeys('R4', obs, 'subject')).to.deep.equal(['Patient/123']);
    expect(indexKeys('R4', obs, 'patient')).to.deep.equal(['Patient/123']);
    expect(indexKeys('R4', obs, 'performer')).to.have.members(['Practitioner/9', 'urn:uuid:1']);
    expect(filterKeys('R4', { resourceType: 'Encounter', parameter: 'patient', value: '123' })).to.deep.equal(['Patient/123']);
    expect(filterKeys('R4', { resourceType: 'Observation', parameter: 'subject', value: '123', modifier: 'Patient' })).to.deep.equal(['Patient/123']);
    expect(filterKeys('R4', { resourceType: 'Observation', parameter: 'subject', value: 'http://x.org/fhir/Patient/1,Group/2' })).to.deep.equal(['Patient/1', 'Group/2']);
  });

  it('gives token keys for every way a query can name a value', () => {
    const obs: FhirResource = { resourceType: 'Observation', code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }, { code: 'local' }] } };
    expect(indexKeys('R4', obs, 'code')).to.have.members(['1234-5', 'http://loinc.org|1234-5', 'http://loinc.org|', 'local', '|local']);
    expect(indexKeys('R4', { resourceType: 'Encounter', status: 'finished' }, 'status')).to.deep.equal(['finished']);
    expect(filterKeys('R4', { resourceType: 'Observation', parameter: 'code', value: 'http://loinc.org|1234-5,|local' })).to.deep.equal(['http://loinc.org|1234-5', '|local']);
  });

  it('has no keys where the index cannot answer', () => {
    const none: [FhirVersion, FilterSpec][] = [
      ['R4', { resourceType: 'Encounter', parameter: 'status', value: 'finished', modifier: 'not' }],
      ['R4', { resourceType: 'Encounter', parameter: 'status', value: 'http://hl7.org/fhir/encounter-status|finished' }],
      ['R4', { resourceType: 'Encounter', parameter: 'status', value: 'finished', comparator: 'eq' }],
      ['R4', { resourceType: 'Observation', parameter: 'subject', value: '1' }],
      ['R4', { resourceType: 'Observation', parameter: 'subject', value: 'Patient/1/_history/2' }],
      ['R4', { resourceType: 'Observation', parameter: 'subject', value: 'Patient/1', modifier: 'missing' }],
      ['R4', { resourceType: 'Observation', parameter: 'subject', value: 'Patient/1', modifier: 'identifier' }],
      ['R4', { resourceType: 'Patient', parameter: 'name', value: 'ana' }],
      ['R4', { resourceType: 'Patient', parameter: 'birthdate', value: '2000' }],
      ['R4', { resourceType: 'Encounter', parameter: 'subject.name', value: 'ana' }],
      ['R4', { resourceType: 'Patient', parameter: 'phonetic', value: 'ana' }],
    ];
    for (const [version, f] of none) expect(filterKeys(version, f), JSON.stringify(f)).to.equal(undefined);
    expect(indexKeys('R4', { resourceType: 'Patient', name: [{ family: 'X' }] }, 'name')).to.equal(undefined);
    expect(indexKeys('R4', { resourceType: 'Encounter', subject: { reference: 'urn:uuid:1' } }, 'patient')).to.equal(undefined);
    expect(indexKeys('R4', { resourceType: 'PlanDefinition', library: ['http://x.org/Library/a'] }, 'depends-on')).to.equal(undefined);
  });

  it('agrees with evaluateFilter wherever both are defined (property test)', () => {
    const rnd = prng(20240305);
    let checked = 0;
    const outcomes = { true: 0, false: 0 };
    for (const version of ['R4', 'R4B', 'R5'] as FhirVersion[]) {
      for (const type of Object.keys(PARAMETERS)) {
        const resources = Array.from({ length: 60 }, () => resource(rnd, type));
        for (let i = 0; i < 400; i++) {
          const f = filter(rnd, type);
          const fk = filterKeys(version, f);
          for (const r of resources) {
            const verdict = evaluateFilter(version, r, f);
            const ik = indexKeys(version, r, f.parameter);
            if (fk === undefined || ik === undefined) continue;
            const indexed = ik.some((k) => fk.includes(k));
            expect(verdict, `${version} ${JSON.stringify(f)} on ${JSON.stringify(r)}; keys ${JSON.stringify(ik)} vs ${JSON.stringify(fk)}`).to.equal(indexed);
            checked++;
            outcomes[indexed ? 'true' : 'false']++;
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(20_000);
    expect(outcomes.true).to.be.greaterThan(2_000);
    expect(outcomes.false).to.be.greaterThan(2_000);
  });
});
