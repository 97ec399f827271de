import { expect } from 'chai';
import { QueryInvalid, evaluateQuery, parseQuery } from '../../src/fhir/search-eval/index.js';

describe('search-eval: parseQuery', () => {
  it('reads bare topic criteria, with modifiers', () => {
    expect(parseQuery('R4', 'Encounter', 'status:not=finished&subject=Patient/1')).to.deep.equal([
      { resourceType: 'Encounter', parameter: 'status', modifier: 'not', value: 'finished' },
      { resourceType: 'Encounter', parameter: 'subject', value: 'Patient/1' },
    ]);
  });

  it('accepts a leading ? or Type? and rejects another type', () => {
    const expected = [{ resourceType: 'Encounter', parameter: 'status', value: 'finished' }];
    expect(parseQuery('R4', 'Encounter', '?status=finished')).to.deep.equal(expected);
    expect(parseQuery('R4', 'Encounter', 'Encounter?status=finished')).to.deep.equal(expected);
    expect(() => parseQuery('R4', 'Encounter', 'Observation?status=final')).to.throw(QueryInvalid);
  });

  it('decodes percent-encoded names and values, and keeps + literal', () => {
    expect(parseQuery('R4', 'Encounter', 'status%3Anot=finished&patient=Patient%2F1')).to.deep.equal([
      { resourceType: 'Encounter', parameter: 'status', modifier: 'not', value: 'finished' },
      { resourceType: 'Encounter', parameter: 'patient', value: 'Patient/1' },
    ]);
    expect(parseQuery('R4', 'Observation', 'date=ge2024-01-01T00:00:00+01:00')).to.deep.equal([
      { resourceType: 'Observation', parameter: 'date', comparator: 'ge', value: '2024-01-01T00:00:00+01:00' },
    ]);
    expect(parseQuery('R4', 'Observation', 'code=http%3A%2F%2Floinc.org%7C1234-5')).to.deep.equal([{ resourceType: 'Observation', parameter: 'code', value: 'http://loinc.org|1234-5' }]);
  });

  it('splits comparator prefixes only for number, date and quantity parameters, and only for single values', () => {
    expect(parseQuery('R4', 'Patient', 'birthdate=lt2000&name=ne')).to.deep.equal([
      { resourceType: 'Patient', parameter: 'birthdate', comparator: 'lt', value: '2000' },
      { resourceType: 'Patient', parameter: 'name', value: 'ne' },
    ]);
    expect(parseQuery('R4', 'Observation', 'value-quantity=gt5.4|http://unitsofmeasure.org|mg&status=ne')).to.deep.equal([
      { resourceType: 'Observation', parameter: 'value-quantity', comparator: 'gt', value: '5.4|http://unitsofmeasure.org|mg' },
      { resourceType: 'Observation', parameter: 'status', value: 'ne' },
    ]);
    expect(parseQuery('R4', 'RiskAssessment', 'probability=gt0.5,lt0.1')).to.deep.equal([{ resourceType: 'RiskAssessment', parameter: 'probability', value: 'gt0.5,lt0.1' }]);
  });

  it('keeps escapes for evaluation, and chains and _has as names', () => {
    expect(parseQuery('R4', 'Observation', 'code=a\\,b,c&subject:Patient.name=x&_has:Observation:patient:code=1')).to.deep.equal([
      { resourceType: 'Observation', parameter: 'code', value: 'a\\,b,c' },
      { resourceType: 'Observation', parameter: 'subject', modifier: 'Patient.name', value: 'x' },
      { resourceType: 'Observation', parameter: '_has', modifier: 'Observation:patient:code', value: '1' },
    ]);
  });

  it('ignores empty pieces and values, and throws on syntax errors', () => {
    expect(parseQuery('R4', 'Encounter', '&status=&&class=AMB&')).to.deep.equal([{ resourceType: 'Encounter', parameter: 'class', value: 'AMB' }]);
    expect(parseQuery('R4', 'Encounter', '')).to.deep.equal([]);
    for (const bad of ['status', '=x', 'status:=x', 'status=%E0%A4%A', 'sta tus=x']) {
      expect(() => parseQuery('R4', 'Encounter', bad), bad).to.throw(QueryInvalid);
    }
  });

  it('evaluates an IG-style previous/current pair', () => {
    const previous = parseQuery('R4', 'Encounter', 'status:not=finished');
    const current = parseQuery('R4', 'Encounter', 'status=finished');
    const before = { resourceType: 'Encounter', status: 'in-progress' };
    const after = { resourceType: 'Encounter', status: 'finished' };
    expect(evaluateQuery('R4', before, previous)).to.equal(true);
    expect(evaluateQuery('R4', after, current)).to.equal(true);
    expect(evaluateQuery('R4', after, previous)).to.equal(false);
  });
});
