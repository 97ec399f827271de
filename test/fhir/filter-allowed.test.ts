import { expect } from 'chai';
import { checkFilter, type FilterRequest } from '../../src/fhir/filter-allowed.js';
import { ADMISSION, CARE, R4B_COMPLETE } from './fixtures/topics.js';

const string = (f: Omit<FilterRequest, 'comparatorInValue'>): FilterRequest => ({ ...f, comparatorInValue: true });

describe('filters allowed by a topic', () => {
  it('accepts a listed parameter and gives it the one resource its canFilterBy names', () => {
    expect(checkFilter(string({ parameter: 'patient', value: 'Patient/1' }), ADMISSION)).to.deep.equal({
      ok: true,
      filter: { resourceType: 'Encounter', parameter: 'patient', value: 'Patient/1' },
    });
  });

  it('leaves the resource type open when the parameter applies to several resources', () => {
    expect(checkFilter(string({ parameter: 'patient', value: 'Patient/1' }), CARE)).to.deep.equal({
      ok: true,
      filter: { parameter: 'patient', value: 'Patient/1' },
    });
    expect(checkFilter(string({ parameter: '_id', value: '1' }), CARE)).to.deep.equal({ ok: true, filter: { parameter: '_id', value: '1' } });
  });

  it('names the allowed parameters when one is not listed', () => {
    const checked = checkFilter(string({ parameter: 'subject', value: 'Patient/1' }), ADMISSION);
    expect(checked).to.deep.equal({
      ok: false,
      reason: "topic http://hl7.org/SubscriptionTopic/admission does not allow filtering by 'subject'; allowed: Encounter.patient, Encounter.length, Encounter.status",
    });
  });

  it('refuses a parameter listed only for another resource', () => {
    const checked = checkFilter(string({ resourceType: 'Encounter', parameter: 'code', value: 'x' }), CARE);
    expect(checked.ok).to.equal(false);
    if (!checked.ok) expect(checked.reason).to.include("'code' on Encounter; allowed: Encounter.patient, _id");
  });

  it('refuses a resource type the topic does not trigger on', () => {
    const checked = checkFilter(string({ resourceType: 'Patient', parameter: 'patient', value: 'x' }), ADMISSION);
    expect(checked).to.deep.equal({ ok: false, reason: "resource type 'Patient' is not one topic http://hl7.org/SubscriptionTopic/admission triggers on (Encounter)" });
  });

  it('matches resource types given as StructureDefinition URLs', () => {
    const checked = checkFilter(string({ resourceType: 'http://hl7.org/fhir/StructureDefinition/Encounter', parameter: 'patient', value: 'x' }), R4B_COMPLETE);
    expect(checked).to.deep.equal({ ok: true, filter: { resourceType: 'Encounter', parameter: 'patient', value: 'x' } });
  });

  describe('modifiers', () => {
    it('accepts a listed modifier, and a resource type as modifier when `type` is listed', () => {
      expect(checkFilter(string({ parameter: 'patient', modifier: 'missing', value: 'true' }), ADMISSION).ok).to.equal(true);
      expect(checkFilter(string({ parameter: 'patient', modifier: 'Patient', value: '1' }), ADMISSION)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'patient', modifier: 'Patient', value: '1' },
      });
    });

    it('refuses an unlisted modifier, naming the allowed ones', () => {
      expect(checkFilter(string({ parameter: 'patient', modifier: 'not', value: 'x' }), ADMISSION)).to.deep.equal({
        ok: false,
        reason: "modifier ':not' is not allowed on 'patient' by topic http://hl7.org/SubscriptionTopic/admission; allowed: missing, type",
      });
      const checked = checkFilter(string({ parameter: 'status', modifier: 'not', value: 'x' }), ADMISSION);
      expect(checked.ok).to.equal(false);
      if (!checked.ok) expect(checked.reason).to.match(/allowed: none$/);
    });

    it('reads the R4B `=` modifier as plain equality', () => {
      expect(checkFilter(string({ parameter: 'patient', modifier: '=', value: 'x' }), R4B_COMPLETE)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'patient', value: 'x' },
      });
    });
  });

  describe('comparators', () => {
    it('strips a value prefix the R5-style canFilterBy lists as comparator', () => {
      expect(checkFilter(string({ parameter: 'length', value: 'gt10' }), ADMISSION)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'length', comparator: 'gt', value: '10' },
      });
    });

    it('strips a value prefix the R4B-style canFilterBy lists as modifier', () => {
      expect(checkFilter(string({ parameter: 'length', value: 'lt5' }), R4B_COMPLETE)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'length', comparator: 'lt', value: '5' },
      });
    });

    it('reads an R4B comparator written as a modifier as the comparator', () => {
      expect(checkFilter(string({ parameter: 'length', modifier: 'gt', value: '5' }), R4B_COMPLETE)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'length', comparator: 'gt', value: '5' },
      });
    });

    it('keeps a prefix-like value whole on a parameter that takes no comparator', () => {
      expect(checkFilter(string({ parameter: 'status', value: 'gt10' }), ADMISSION)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'status', value: 'gt10' },
      });
      expect(checkFilter(string({ parameter: 'length', value: 'gt' }), ADMISSION)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'length', value: 'gt' },
      });
    });

    it('refuses a comparator prefix that is not listed for the parameter', () => {
      expect(checkFilter(string({ parameter: 'length', value: 'ne10' }), ADMISSION)).to.deep.equal({
        ok: false,
        reason: "comparator 'ne' is not allowed on 'length' by topic http://hl7.org/SubscriptionTopic/admission; allowed: gt, lt, ge, le",
      });
    });

    it('refuses an explicit (R5) comparator that is not listed, and never strips R5 values', () => {
      expect(checkFilter({ parameter: 'patient', comparator: 'gt', value: 'x', comparatorInValue: false }, ADMISSION).ok).to.equal(false);
      expect(checkFilter({ parameter: 'length', value: 'gt10', comparatorInValue: false }, ADMISSION)).to.deep.equal({
        ok: true,
        filter: { resourceType: 'Encounter', parameter: 'length', value: 'gt10' },
      });
    });
  });
});
