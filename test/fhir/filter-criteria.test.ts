import { expect } from 'chai';
import { parseFilterCriteria, parseSearchCriteria } from '../../src/fhir/filter-criteria.js';

describe('filter criteria strings', () => {
  describe('backport filter-criteria', () => {
    it('reads the search-URL form of the IG examples', () => {
      expect(parseFilterCriteria('Encounter?patient=Patient/123')).to.deep.equal({
        ok: true,
        filters: [{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' }],
      });
    });

    it('splits several &-joined parameters of the search-URL form into one filter each', () => {
      expect(parseFilterCriteria('Encounter?patient=Patient/123&status:not=finished')).to.deep.equal({
        ok: true,
        filters: [
          { resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' },
          { resourceType: 'Encounter', parameter: 'status', modifier: 'not', value: 'finished' },
        ],
      });
    });

    it("reads Inferno's dotted form, with and without a modifier", () => {
      expect(parseFilterCriteria('Encounter.patient=Patient/123')).to.deep.equal({
        ok: true,
        filters: [{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' }],
      });
      expect(parseFilterCriteria('Encounter.patient:missing=true')).to.deep.equal({
        ok: true,
        filters: [{ resourceType: 'Encounter', parameter: 'patient', modifier: 'missing', value: 'true' }],
      });
    });

    it('reads the bare form, with and without a modifier', () => {
      expect(parseFilterCriteria('patient=Patient/123')).to.deep.equal({ ok: true, filters: [{ parameter: 'patient', value: 'Patient/123' }] });
      expect(parseFilterCriteria('subject:Patient=123')).to.deep.equal({
        ok: true,
        filters: [{ parameter: 'subject', modifier: 'Patient', value: '123' }],
      });
    });

    it('keeps a comparator prefix in the value (the topic decides what it is)', () => {
      expect(parseFilterCriteria('length=gt10')).to.deep.equal({ ok: true, filters: [{ parameter: 'length', value: 'gt10' }] });
    });

    it('percent-decodes names and values, and keeps | and + as they are', () => {
      expect(parseFilterCriteria('Observation?code=http%3A%2F%2Floinc.org%7C1234-5&date=2020-01-01T00:00:00+01:00')).to.deep.equal({
        ok: true,
        filters: [
          { resourceType: 'Observation', parameter: 'code', value: 'http://loinc.org|1234-5' },
          { resourceType: 'Observation', parameter: 'date', value: '2020-01-01T00:00:00+01:00' },
        ],
      });
      expect(parseFilterCriteria('code=http://loinc.org|1234-5')).to.deep.equal({
        ok: true,
        filters: [{ parameter: 'code', value: 'http://loinc.org|1234-5' }],
      });
    });

    it('lets each piece of the dotted form name its own resource type', () => {
      expect(parseFilterCriteria('Encounter.patient=Patient/1&Observation.code=x')).to.deep.equal({
        ok: true,
        filters: [
          { resourceType: 'Encounter', parameter: 'patient', value: 'Patient/1' },
          { resourceType: 'Observation', parameter: 'code', value: 'x' },
        ],
      });
    });

    it('keeps a lower-case dotted name whole (a chain, not a resource type)', () => {
      expect(parseFilterCriteria('patient.name=peter')).to.deep.equal({ ok: true, filters: [{ parameter: 'patient.name', value: 'peter' }] });
    });

    it('reads a ? inside a value as part of the value', () => {
      expect(parseFilterCriteria('url=http://x.org/a?b')).to.deep.equal({ ok: true, filters: [{ parameter: 'url', value: 'http://x.org/a?b' }] });
    });

    for (const [text, reason] of [
      ['', 'empty'],
      ['   ', 'empty'],
      ['patient', 'not name=value'],
      ['patient=', 'no value'],
      ['=Patient/1', 'no parameter name'],
      ['patient:=x', 'empty modifier'],
      ['encounter?patient=x', 'not a resource type'],
      ['Encounter?', 'no name=value'],
      ['patient=%E0%A4%A', 'malformed %-escape'],
    ] as const) {
      it(`refuses '${text}' (${reason})`, () => {
        const parsed = parseFilterCriteria(text);
        expect(parsed.ok).to.equal(false);
        if (!parsed.ok) expect(parsed.reason).to.include(reason);
      });
    }
  });

  describe('classic criteria', () => {
    it('reads a bare resource type as no filters', () => {
      expect(parseSearchCriteria('Patient')).to.deep.equal({ ok: true, resourceType: 'Patient', filters: [] });
      expect(parseSearchCriteria('Patient?')).to.deep.equal({ ok: true, resourceType: 'Patient', filters: [] });
    });

    it('gives every parameter the criteria resource type', () => {
      expect(parseSearchCriteria('Communication?recipient=Practitioner/123&_lastUpdated=gt2020-01-01')).to.deep.equal({
        ok: true,
        resourceType: 'Communication',
        filters: [
          { resourceType: 'Communication', parameter: 'recipient', value: 'Practitioner/123' },
          { resourceType: 'Communication', parameter: '_lastUpdated', value: 'gt2020-01-01' },
        ],
      });
    });

    it('keeps a comma (OR within a parameter) in the value', () => {
      expect(parseSearchCriteria('Observation?code=a,b')).to.deep.equal({
        ok: true,
        resourceType: 'Observation',
        filters: [{ resourceType: 'Observation', parameter: 'code', value: 'a,b' }],
      });
    });

    it('does not read Type.param in criteria as a resource type', () => {
      expect(parseSearchCriteria('Observation?subject.name=x')).to.deep.equal({
        ok: true,
        resourceType: 'Observation',
        filters: [{ resourceType: 'Observation', parameter: 'subject.name', value: 'x' }],
      });
    });

    it('refuses something that is not a resource type', () => {
      expect(parseSearchCriteria('patient?name=x').ok).to.equal(false);
      expect(parseSearchCriteria('Patient/123').ok).to.equal(false);
      expect(parseSearchCriteria('').ok).to.equal(false);
    });
  });
});
