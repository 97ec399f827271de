import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import type { FhirResource } from '../../src/events/event.js';
import { evaluateFilter, evaluateQuery, type FilterSpec, type Verdict } from '../../src/fhir/search-eval/index.js';

function check(version: FhirVersion, resource: FhirResource, parameter: string, value: string, extra: Partial<FilterSpec> = {}): Verdict {
  return evaluateFilter(version, resource, { resourceType: resource.resourceType, parameter, value, ...extra });
}

const encounter: FhirResource = {
  resourceType: 'Encounter',
  id: 'enc1',
  meta: {
    versionId: '3',
    lastUpdated: '2024-03-05T10:15:30.123Z',
    tag: [{ system: 'http://example.org/tags', code: 'research' }],
    security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter'],
    source: 'http://ehr.example.org/feed#abc',
  },
  status: 'finished',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: 'Patient/1', display: 'Ana' },
  participant: [{ individual: { reference: 'https://other.example.org/fhir/Practitioner/p7/_history/2' } }],
  period: { start: '2024-03-05T09:00:00Z', end: '2024-03-05T09:30:00Z' },
  identifier: [{ system: 'urn:oid:1.2.3', value: 'V-100' }],
};

const observation: FhirResource = {
  resourceType: 'Observation',
  id: 'obs1',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: {
    coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }, { code: 'WEIGHT' }],
    text: 'Weight',
  },
  subject: { reference: 'Patient/1' },
  effectiveDateTime: '2024-03-05T09:10:00+01:00',
  valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
};

const patient: FhirResource = {
  resourceType: 'Patient',
  id: 'pat1',
  active: true,
  gender: 'female',
  birthDate: '1980-05-12',
  name: [{ use: 'official', family: 'Müller', given: ['José', 'Ana'], prefix: ['Dr.'] }],
  address: [{ line: ['12 Rue de l’Église'], city: 'Genève', postalCode: '1204', country: 'CH' }],
  telecom: [
    { system: 'email', value: 'ana@example.org' },
    { system: 'phone', value: '+41 22 000 00 00' },
  ],
  identifier: [{ system: 'http://hospital.example.org/mrn', value: 'MRN-42' }],
  generalPractitioner: [{ reference: 'Practitioner/gp1' }],
};

describe('search-eval: evaluateFilter', () => {
  describe('reference', () => {
    it('matches Encounter.patient by Type/id and, having one target type, by bare id', () => {
      expect(check('R4', encounter, 'patient', 'Patient/1')).to.equal(true);
      expect(check('R4', encounter, 'patient', '1')).to.equal(true);
      expect(check('R4', encounter, 'patient', 'Patient/2')).to.equal(false);
      expect(check('R5', encounter, 'patient', 'Patient/1')).to.equal(true);
    });

    it('compares absolute references and query values by their Type/id tail', () => {
      expect(check('R4', encounter, 'patient', 'https://fhir.example.org/r4/Patient/1')).to.equal(true);
      expect(check('R4', encounter, 'practitioner', 'Practitioner/p7')).to.equal(true);
      expect(check('R4', encounter, 'participant', 'Practitioner/p7')).to.equal(true);
    });

    it('keeps only references of the type a `where(resolve() is T)` parameter asks for', () => {
      const group: FhirResource = { ...encounter, subject: { reference: 'Group/g1' } };
      expect(check('R4', group, 'patient', 'Group/g1')).to.equal(false);
      expect(check('R4', group, 'subject', 'Group/g1')).to.equal(true);
      expect(check('R4', group, 'patient', 'x', { modifier: 'missing', value: 'true' })).to.equal(true);
    });

    it('reads the target type from Reference.type or a contained resource, and is undecidable without one', () => {
      const typed: FhirResource = { ...encounter, subject: { reference: 'urn:uuid:0c3b', type: 'Patient' } };
      expect(check('R4', typed, 'patient', 'urn:uuid:0c3b')).to.equal(true);
      const contained: FhirResource = { ...encounter, contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#p' } };
      expect(check('R4', contained, 'patient', 'Patient/1')).to.equal(false);
      expect(check('R4', contained, 'patient', 'true', { modifier: 'missing' })).to.equal('undecidable');
      const untyped: FhirResource = { ...encounter, subject: { reference: 'urn:uuid:0c3b' } };
      expect(check('R4', untyped, 'patient', 'Patient/1')).to.equal('undecidable');
      expect(check('R4', untyped, 'subject', 'Patient/1')).to.equal(false);
    });

    it('makes a bare id on a parameter with several target types undecidable', () => {
      expect(check('R4', observation, 'subject', '1')).to.equal('undecidable');
      expect(check('R4', observation, 'subject', 'Patient/1')).to.equal(true);
      expect(check('R4', observation, 'subject', '1', { modifier: 'Patient' })).to.equal(true);
      expect(check('R4', observation, 'subject', '1', { modifier: 'Group' })).to.equal(false);
      expect(check('R4', observation, 'subject', '1', { modifier: 'Claim' })).to.equal('undecidable');
    });

    it('matches version-specific queries when the versions agree, else leaves them to the server if the resource is the same', () => {
      expect(check('R4', encounter, 'practitioner', 'Practitioner/p7/_history/2')).to.equal(true);
      expect(check('R4', encounter, 'practitioner', 'Practitioner/p7/_history/1')).to.equal('undecidable');
      expect(check('R4', encounter, 'practitioner', 'Practitioner/p8/_history/2')).to.equal(false);
      expect(check('R4', encounter, 'patient', 'Patient/1/_history/9')).to.equal('undecidable');
      expect(check('R4', encounter, 'patient', 'Patient/2/_history/9')).to.equal(false);
      expect(check('R4', encounter, 'practitioner', 'Practitioner/p7')).to.equal(true);
    });

    it('supports :not, :missing and :identifier', () => {
      expect(check('R4', encounter, 'patient', 'Patient/1', { modifier: 'not' })).to.equal(false);
      expect(check('R4', encounter, 'patient', 'Patient/2', { modifier: 'not' })).to.equal(true);
      expect(check('R4', encounter, 'patient', 'false', { modifier: 'missing' })).to.equal(true);
      expect(check('R4', encounter, 'episode-of-care', 'true', { modifier: 'missing' })).to.equal(true);
      const logical: FhirResource = { ...encounter, subject: { type: 'Patient', identifier: { system: 'urn:mrn', value: '42' } } };
      expect(check('R4', logical, 'patient', 'urn:mrn|42', { modifier: 'identifier' })).to.equal(true);
      expect(check('R4', logical, 'patient', '42', { modifier: 'identifier' })).to.equal(true);
      expect(check('R4', logical, 'patient', 'urn:mrn|43', { modifier: 'identifier' })).to.equal(false);
      expect(check('R4', logical, 'patient', 'Patient/1')).to.equal(false);
    });

    it('matches canonical references by url, with |version', () => {
      const plan: FhirResource = {
        resourceType: 'PlanDefinition',
        status: 'active',
        library: ['http://example.org/Library/core|1.2'],
        relatedArtifact: [{ type: 'depends-on', resource: 'http://example.org/Library/base' }],
      };
      expect(check('R4', plan, 'depends-on', 'http://example.org/Library/core')).to.equal(true);
      expect(check('R4', plan, 'depends-on', 'http://example.org/Library/core|1.2')).to.equal(true);
      expect(check('R4', plan, 'depends-on', 'http://example.org/Library/core|1.3')).to.equal(false);
      expect(check('R4', plan, 'depends-on', 'http://example.org/Library/base|1.0')).to.equal('undecidable');
      expect(check('R4', plan, 'depends-on', 'http://example.org/Library/other')).to.equal(false);
      expect(check('R4', plan, 'depends-on', 'Library/core')).to.equal('undecidable');
    });

    it('leaves hierarchy and text modifiers undecided', () => {
      for (const modifier of ['above', 'below', 'text', 'code-text', 'iterate']) {
        expect(check('R4', encounter, 'patient', 'Patient/1', { modifier }), modifier).to.equal('undecidable');
      }
    });
  });

  describe('token', () => {
    it('matches a CodeableConcept by code, system|code, |code and system|', () => {
      expect(check('R4', observation, 'code', '29463-7')).to.equal(true);
      expect(check('R4', observation, 'code', 'http://loinc.org|29463-7')).to.equal(true);
      expect(check('R4', observation, 'code', 'http://snomed.info/sct|29463-7')).to.equal(false);
      expect(check('R4', observation, 'code', '|29463-7')).to.equal(false);
      expect(check('R4', observation, 'code', '|WEIGHT')).to.equal(true);
      expect(check('R4', observation, 'code', 'http://loinc.org|')).to.equal(true);
      expect(check('R4', observation, 'code', 'http://snomed.info/sct|')).to.equal(false);
      expect(check('R4B', observation, 'code', 'http://loinc.org|29463-7')).to.equal(true);
      expect(check('R5', observation, 'code', 'http://loinc.org|29463-7')).to.equal(true);
    });

    it('compares codes case-sensitively', () => {
      expect(check('R4', observation, 'code', 'weight')).to.equal(false);
      expect(check('R4', encounter, 'status', 'Finished')).to.equal(false);
    });

    it('matches Coding, Identifier and bare codes', () => {
      expect(check('R4', encounter, 'class', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB')).to.equal(true);
      expect(check('R4', encounter, 'identifier', 'urn:oid:1.2.3|V-100')).to.equal(true);
      expect(check('R4', encounter, 'identifier', 'V-100')).to.equal(true);
      expect(check('R4', encounter, 'identifier', 'urn:oid:1.2.4|V-100')).to.equal(false);
      expect(check('R4', encounter, 'status', 'finished')).to.equal(true);
      expect(check('R4', encounter, 'status', 'in-progress')).to.equal(false);
    });

    it('leaves a system-qualified query against a bare code undecided (servers give codes implicit systems)', () => {
      expect(check('R4', encounter, 'status', 'http://hl7.org/fhir/encounter-status|finished')).to.equal('undecidable');
      expect(check('R4', encounter, 'status', '|finished')).to.equal('undecidable');
      expect(check('R4', patient, 'email', 'email|ana@example.org')).to.equal('undecidable');
    });

    it('matches booleans and ContactPoint values', () => {
      expect(check('R4', patient, 'active', 'true')).to.equal(true);
      expect(check('R4', patient, 'active', 'false')).to.equal(false);
      expect(check('R4', patient, 'email', 'ana@example.org')).to.equal(true);
      expect(check('R4', patient, 'phone', 'ana@example.org')).to.equal(false);
      expect(check('R4', patient, 'telecom', '+41 22 000 00 00')).to.equal(true);
      expect(check('R4', patient, 'deceased', 'false')).to.equal(true);
      expect(check('R4', { ...patient, deceasedDateTime: '2020-01-01' }, 'deceased', 'true')).to.equal(true);
    });

    it(':not is true when no value matches, including when there is no value', () => {
      expect(check('R4', encounter, 'status', 'finished', { modifier: 'not' })).to.equal(false);
      expect(check('R4', encounter, 'status', 'planned,in-progress', { modifier: 'not' })).to.equal(true);
      expect(check('R4', encounter, 'status', 'planned,finished', { modifier: 'not' })).to.equal(false);
      expect(check('R4', encounter, 'type', 'http://snomed.info/sct|1', { modifier: 'not' })).to.equal(true);
    });

    it('supports :missing and leaves terminology and text modifiers undecided', () => {
      expect(check('R4', encounter, 'type', 'true', { modifier: 'missing' })).to.equal(true);
      expect(check('R4', encounter, 'class', 'true', { modifier: 'missing' })).to.equal(false);
      expect(check('R4', encounter, 'class', 'false', { modifier: 'missing' })).to.equal(true);
      expect(check('R4', encounter, 'class', 'maybe', { modifier: 'missing' })).to.equal('undecidable');
      for (const modifier of ['text', 'in', 'not-in', 'of-type', 'above', 'below', 'code-text', 'text-advanced']) {
        expect(check('R4', observation, 'code', 'x', { modifier }), modifier).to.equal('undecidable');
      }
    });

    it('reads the meta parameters _id, _tag, _security', () => {
      expect(check('R4', encounter, '_id', 'enc1')).to.equal(true);
      expect(check('R4', encounter, '_id', 'enc2')).to.equal(false);
      expect(check('R4', encounter, '_tag', 'http://example.org/tags|research')).to.equal(true);
      expect(check('R5', encounter, '_tag', 'research')).to.equal(true);
      expect(check('R4', encounter, '_security', 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R')).to.equal(true);
      expect(check('R4', encounter, '_security', 'N')).to.equal(false);
    });

    it('treats OR lists and escapes', () => {
      expect(check('R4', encounter, 'status', 'planned,finished')).to.equal(true);
      expect(check('R4', encounter, 'status', 'planned,arrived')).to.equal(false);
      const odd: FhirResource = { ...observation, code: { coding: [{ system: 'urn:a|b', code: 'x,y' }] } };
      expect(check('R4', odd, 'code', 'urn:a\\|b|x\\,y')).to.equal(true);
      expect(check('R4', odd, 'code', 'x\\,y')).to.equal(true);
      expect(check('R4', odd, 'code', 'x,y')).to.equal(false);
      expect(check('R4', observation, 'code', 'a,')).to.equal('undecidable');
    });
  });

  describe('string', () => {
    it('starts-with, case- and accent-insensitive, on every HumanName part', () => {
      expect(check('R4', patient, 'name', 'mul')).to.equal(true);
      expect(check('R4', patient, 'name', 'MÜLLER')).to.equal(true);
      expect(check('R4', patient, 'name', 'jose')).to.equal(true);
      expect(check('R4', patient, 'name', 'dr')).to.equal(true);
      expect(check('R4', patient, 'name', 'ller')).to.equal(false);
      expect(check('R4', patient, 'family', 'muller')).to.equal(true);
      expect(check('R4', patient, 'given', 'ana')).to.equal(true);
      expect(check('R5', patient, 'name', 'mull')).to.equal(true);
    });

    it(':exact is exact and :contains is a normalised substring', () => {
      expect(check('R4', patient, 'family', 'Müller', { modifier: 'exact' })).to.equal(true);
      expect(check('R4', patient, 'family', 'Muller', { modifier: 'exact' })).to.equal(false);
      expect(check('R4', patient, 'family', 'müll', { modifier: 'exact' })).to.equal(false);
      expect(check('R4', patient, 'family', 'LLE', { modifier: 'contains' })).to.equal(true);
      expect(check('R4', patient, 'family', 'xyz', { modifier: 'contains' })).to.equal(false);
      expect(check('R4', patient, 'family', 'x', { modifier: 'text' })).to.equal('undecidable');
    });

    it('matches Address parts', () => {
      expect(check('R4', patient, 'address', 'geneve')).to.equal(true);
      expect(check('R4', patient, 'address-city', 'Gen')).to.equal(true);
      expect(check('R4', patient, 'address', '12 rue de l’eglise')).to.equal(true);
      expect(check('R4', patient, 'address-postalcode', '12')).to.equal(true);
      expect(check('R4', patient, 'address-country', 'DE')).to.equal(false);
    });

    it('leaves a multi-word query against a name undecided when no single part matches', () => {
      expect(check('R4', patient, 'name', 'José Müller')).to.equal('undecidable');
      expect(check('R4', { ...patient, name: [{ text: 'José Müller' }] }, 'name', 'jose mu')).to.equal(true);
    });

    it('refuses phonetic matching', () => {
      expect(check('R4', patient, 'phonetic', 'miller')).to.equal('undecidable');
    });
  });

  describe('uri', () => {
    const valueSet: FhirResource = { resourceType: 'ValueSet', status: 'active', url: 'http://example.org/fhir/ValueSet/vitals' };
    it('is exact by default', () => {
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/ValueSet/vitals')).to.equal(true);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/ValueSet/Vitals')).to.equal(false);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/ValueSet')).to.equal(false);
    });

    it(':below and :above on path segments, undecided on plain string prefixes', () => {
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir', { modifier: 'below' })).to.equal(true);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/', { modifier: 'below' })).to.equal(true);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/ValueSet/vit', { modifier: 'below' })).to.equal('undecidable');
      expect(check('R4', valueSet, 'url', 'http://other.org', { modifier: 'below' })).to.equal(false);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir/ValueSet/vitals/extra', { modifier: 'above' })).to.equal(true);
      expect(check('R4', valueSet, 'url', 'http://example.org/fhir', { modifier: 'above' })).to.equal(false);
    });

    it('reads _profile and _source', () => {
      expect(check('R4', encounter, '_profile', 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter')).to.equal(true);
      expect(check('R5', encounter, '_profile', 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter')).to.equal(true);
      expect(check('R4', encounter, '_profile', 'http://example.org/other')).to.equal(false);
      expect(check('R4', encounter, '_source', 'http://ehr.example.org/feed#abc')).to.equal(true);
      expect(check('R4', encounter, '_source', 'true', { modifier: 'missing' })).to.equal(false);
    });
  });

  describe('date', () => {
    it('eq means the value lies within the precision range of the query', () => {
      expect(check('R4', patient, 'birthdate', '1980-05-12')).to.equal(true);
      expect(check('R4', patient, 'birthdate', '1980-05')).to.equal(true);
      expect(check('R4', patient, 'birthdate', '1980')).to.equal(true);
      expect(check('R4', patient, 'birthdate', '1981')).to.equal(false);
      expect(check('R4', patient, 'birthdate', '1980-05-12T10:00:00Z')).to.equal(false);
      expect(check('R4', patient, 'birthdate', '1980-05-12', { comparator: 'ne' })).to.equal(false);
      expect(check('R4', patient, 'birthdate', '1980-05-13', { comparator: 'ne' })).to.equal(true);
    });

    it('orders by ranges for gt, ge, lt, le, sa, eb', () => {
      const cases: [string, string, Verdict][] = [
        ['gt', '1980-05-11', true],
        ['gt', '1980-05-12', false],
        ['gt', '1980', false],
        ['gt', '1979', true],
        ['ge', '1980-05-12', true],
        ['ge', '1980', true],
        ['ge', '1980-05-13', false],
        ['lt', '1980-05-13', true],
        ['lt', '1980-05-12', false],
        ['le', '1980-05-12', true],
        ['le', '1980-05-11', false],
        ['sa', '1980-05-11', true],
        ['sa', '1980-05', false],
        ['eb', '1980-05-13', true],
        ['eb', '1980-05-12', false],
        ['ap', '1980-05', true],
        ['ap', '1990', 'undecidable'],
      ];
      for (const [comparator, value, expected] of cases) {
        expect(check('R4', patient, 'birthdate', value, { comparator: comparator as FilterSpec['comparator'] }), `${comparator}${value}`).to.equal(expected);
        expect(check('R4', patient, 'birthdate', `${comparator}${value}`), `prefix ${comparator}${value}`).to.equal(expected);
      }
    });

    it('reads Periods as ranges, open when a bound is missing', () => {
      expect(check('R4', encounter, 'date', '2024-03-05')).to.equal(true);
      expect(check('R4', encounter, 'date', '2024-03-05T09:00:00Z')).to.equal(false);
      expect(check('R4', encounter, 'date', 'gt2024-03-05T09:15:00Z')).to.equal(true);
      expect(check('R4', encounter, 'date', 'sa2024-03-05T09:15:00Z')).to.equal(false);
      const open: FhirResource = { ...encounter, period: { start: '2024-03-05T09:00:00Z' } };
      expect(check('R4', open, 'date', 'gt2030')).to.equal(true);
      expect(check('R4', open, 'date', '2024-03-05')).to.equal(false);
      expect(check('R4', open, 'date', 'lt2024-03-05T09:00:00Z')).to.equal(false);
    });

    it('honours timezones and reads zone-less times as UTC', () => {
      expect(check('R4', observation, 'date', '2024-03-05T08:10:00Z')).to.equal(true);
      expect(check('R4', observation, 'date', '2024-03-05T08:10')).to.equal(true);
      expect(check('R4', observation, 'date', '2024-03-05T09:10:00+01:00')).to.equal(true);
      expect(check('R4', observation, 'date', 'lt2024-03-05T08:10:00Z')).to.equal(false);
    });

    it('reads _lastUpdated, :missing, OR lists and bad values', () => {
      expect(check('R4', encounter, '_lastUpdated', 'gt2024-03-01')).to.equal(true);
      expect(check('R4', encounter, '_lastUpdated', '2024-03-05T10:15:30Z')).to.equal(true);
      expect(check('R4', encounter, '_lastUpdated', '2024-03-05T10:15:31Z')).to.equal(false);
      expect(check('R4', patient, 'death-date', 'true', { modifier: 'missing' })).to.equal(true);
      expect(check('R4', patient, 'birthdate', 'lt1970,gt1979')).to.equal(true);
      expect(check('R4', patient, 'birthdate', 'lt1970,gt1990')).to.equal(false);
      expect(check('R4', patient, 'birthdate', '1980-13')).to.equal('undecidable');
      expect(check('R4', patient, 'birthdate', 'gt1980', { comparator: 'lt' })).to.equal('undecidable');
    });

    it('spans a Timing over its events and bounds', () => {
      const careplan: FhirResource = {
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        subject: { reference: 'Patient/1' },
        activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2024-02-01T10:00:00Z', '2024-02-10T10:00:00Z'] } } }],
      };
      expect(check('R4', careplan, 'activity-date', '2024-02')).to.equal(true);
      expect(check('R4', careplan, 'activity-date', 'gt2024-02-05')).to.equal(true);
      expect(check('R4', careplan, 'activity-date', '2024-02-05')).to.equal(false);
      expect(check('R4', careplan, 'activity-date', 'ge2024-03')).to.equal(false);
    });
  });

  describe('number', () => {
    const risk: FhirResource = {
      resourceType: 'RiskAssessment',
      status: 'final',
      subject: { reference: 'Patient/1' },
      prediction: [{ probabilityDecimal: 0.25 }, { probabilityDecimal: 100.4 }],
    };
    it('eq uses the precision range of the query', () => {
      expect(check('R4', risk, 'probability', '0.25')).to.equal(true);
      expect(check('R4', risk, 'probability', '0.3')).to.equal(true);
      expect(check('R4', risk, 'probability', '0.20')).to.equal(false);
      expect(check('R4', risk, 'probability', '100')).to.equal(true);
      expect(check('R4', risk, 'probability', '100.0')).to.equal(false);
      expect(check('R4', risk, 'probability', '1e2')).to.equal(true);
      const high: FhirResource = { ...risk, prediction: [{ probabilityDecimal: 110 }] };
      expect(check('R4', high, 'probability', '1e2'), '[50, 150) and [95, 105) disagree').to.equal('undecidable');
      expect(check('R4', high, 'probability', '2e2')).to.equal(false);
      expect(check('R4', risk, 'probability', '0.25', { comparator: 'ne' })).to.equal(true);
    });

    it('decides ordering where range and plain-number readings agree', () => {
      expect(check('R4', risk, 'probability', 'gt100.5')).to.equal(false);
      expect(check('R4', risk, 'probability', 'gt100')).to.equal('undecidable');
      expect(check('R4', risk, 'probability', 'gt99')).to.equal(true);
      expect(check('R4', risk, 'probability', 'lt0.3')).to.equal('undecidable');
      expect(check('R4', risk, 'probability', 'lt0.4')).to.equal(true);
      expect(check('R4', risk, 'probability', 'lt0.1')).to.equal(false);
      expect(check('R4', risk, 'probability', 'ge100.4')).to.equal(true);
      expect(check('R4', risk, 'probability', 'le0.2')).to.equal(false);
      expect(check('R4', risk, 'probability', 'ap0.25')).to.equal(true);
      expect(check('R4', risk, 'probability', 'ap0.26')).to.equal('undecidable');
    });

    it('is undecidable on a Range and handles :missing', () => {
      const ranged: FhirResource = { ...risk, prediction: [{ probabilityRange: { low: { value: 0.1 }, high: { value: 0.2 } } }] };
      expect(check('R4', ranged, 'probability', '0.1')).to.equal('undecidable');
      expect(check('R4', ranged, 'probability', 'false', { modifier: 'missing' })).to.equal(true);
      expect(check('R4', { ...risk, prediction: [] }, 'probability', 'true', { modifier: 'missing' })).to.equal(true);
    });
  });

  describe('quantity', () => {
    it('compares the number and, when given, system and code or unit', () => {
      expect(check('R4', observation, 'value-quantity', '72.5')).to.equal(true);
      expect(check('R4', observation, 'value-quantity', '72.5|http://unitsofmeasure.org|kg')).to.equal(true);
      expect(check('R4', observation, 'value-quantity', '72.5||kg')).to.equal(true);
      expect(check('R4', observation, 'value-quantity', '72.5||lb')).to.equal(false);
      expect(check('R4', observation, 'value-quantity', 'gt70|http://unitsofmeasure.org|kg')).to.equal(true);
      expect(check('R4', observation, 'value-quantity', 'lt70|http://unitsofmeasure.org|kg')).to.equal(false);
      expect(check('R4B', observation, 'value-quantity', 'ge72.5||kg')).to.equal(true);
      expect(check('R5', observation, 'value-quantity', 'le72.5||kg')).to.equal(true);
      expect(check('R4', observation, 'value-quantity', '72')).to.equal(false);
      expect(check('R4', observation, 'value-quantity', '72.5', { comparator: 'ne' })).to.equal(false);
    });

    it('leaves other UCUM units undecided (servers may convert) and other systems a miss', () => {
      expect(check('R4', observation, 'value-quantity', '72500|http://unitsofmeasure.org|g')).to.equal('undecidable');
      expect(check('R4', observation, 'value-quantity', '72.5|http://example.org/units|kg')).to.equal(false);
    });

    it('is undecidable on SampledData, a comparator-bearing Quantity and malformed values', () => {
      const sampled: FhirResource = { ...observation, valueQuantity: undefined, valueSampledData: { origin: { value: 1 }, period: 1, dimensions: 1 } };
      expect(check('R4', sampled, 'value-quantity', '1')).to.equal('undecidable');
      const bounded: FhirResource = { ...observation, valueQuantity: { value: 5, comparator: '<', code: 'kg', system: 'http://unitsofmeasure.org' } };
      expect(check('R4', bounded, 'value-quantity', '4')).to.equal('undecidable');
      expect(check('R4', observation, 'value-quantity', '72.5|kg')).to.equal('undecidable');
      expect(check('R4', observation, 'value-quantity', 'abc')).to.equal('undecidable');
      expect(check('R4', observation, 'value-quantity', 'true', { modifier: 'missing' })).to.equal(false);
    });
  });

  describe('R4B resources that R4 lacks', () => {
    it('types their values with the R5 model rather than not at all', () => {
      const topic: FhirResource = {
        resourceType: 'SubscriptionTopic',
        url: 'http://example.org/topics/encounter-complete',
        status: 'active',
        date: '2024-01-02',
        title: 'Encounter complete',
      };
      expect(check('R4B', topic, 'url', 'http://example.org/topics/encounter-complete')).to.equal(true);
      expect(check('R4B', topic, 'status', 'active')).to.equal(true);
      expect(check('R4B', topic, 'date', 'gt2024-01-01')).to.equal(true);
      expect(check('R4B', topic, 'title', 'encounter')).to.equal(true);
    });
  });

  describe('what it leaves to the server', () => {
    it('chains, _has, composite, special, unknown parameters and foreign resource types', () => {
      expect(check('R4', encounter, 'subject.name', 'Ana')).to.equal('undecidable');
      expect(check('R4', encounter, 'subject', 'Ana', { modifier: 'Patient.name' })).to.equal('undecidable');
      expect(check('R4', encounter, '_has', 'x', { modifier: 'Observation:encounter:code' })).to.equal('undecidable');
      expect(check('R4', observation, 'code-value-quantity', 'http://loinc.org|29463-7$72.5')).to.equal('undecidable');
      expect(check('R4', { resourceType: 'Location' }, 'near', '42|-71|10|km')).to.equal('undecidable');
      expect(check('R4', encounter, 'no-such-parameter', 'x')).to.equal('undecidable');
      expect(check('R4', encounter, '_text', 'x')).to.equal('undecidable');
      expect(evaluateFilter('R4', encounter, { resourceType: 'Observation', parameter: 'status', value: 'final' })).to.equal('undecidable');
    });

    it('comparators on types without order, and modifier plus comparator', () => {
      expect(check('R4', encounter, 'status', 'finished', { comparator: 'eq' })).to.equal('undecidable');
      expect(check('R4', patient, 'birthdate', 'true', { modifier: 'missing', comparator: 'eq' })).to.equal('undecidable');
    });
  });

  describe('evaluateQuery', () => {
    const filters = (...specs: [string, string, string?][]): FilterSpec[] =>
      specs.map(([parameter, value, modifier]) => ({ resourceType: 'Encounter', parameter, value, ...(modifier ? { modifier } : {}) }));

    it('ANDs: false wins over undecidable, undecidable over true', () => {
      expect(evaluateQuery('R4', encounter, filters(['status', 'finished'], ['patient', 'Patient/1']))).to.equal(true);
      expect(evaluateQuery('R4', encounter, filters(['status', 'finished'], ['subject.name', 'x']))).to.equal('undecidable');
      expect(evaluateQuery('R4', encounter, filters(['status', 'planned'], ['subject.name', 'x']))).to.equal(false);
      expect(evaluateQuery('R4', encounter, [])).to.equal(true);
    });
  });
});
