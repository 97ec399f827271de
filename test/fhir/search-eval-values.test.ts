import { expect } from 'chai';
import { dateRange } from '../../src/fhir/search-eval/date-range.js';
import { compare, parseDecimal } from '../../src/fhir/search-eval/decimal.js';
import { escapeValue, splitUnescaped, unescapeValue } from '../../src/fhir/search-eval/escape.js';
import { unionBranches } from '../../src/fhir/search-eval/expression.js';
import { evaluateFilter } from '../../src/fhir/search-eval/index.js';

describe('search-eval: value syntax', () => {
  it('splits on unescaped separators only and unescapes afterwards', () => {
    expect(splitUnescaped('a\\,b,c\\\\,d', ',')).to.deep.equal(['a\\,b', 'c\\\\', 'd']);
    expect(unescapeValue('a\\,b\\|c\\$d\\\\e\\x')).to.equal('a,b|c$d\\e\\x');
    expect(unescapeValue(escapeValue('s|c,\\$'))).to.equal('s|c,\\$');
  });

  it('reads date precision as a range, zone-less times as UTC', () => {
    const day = 86_400_000;
    expect(dateRange('2024')).to.deep.equal({ start: Date.UTC(2024, 0, 1), end: Date.UTC(2025, 0, 1) });
    expect(dateRange('2024-02')).to.deep.equal({ start: Date.UTC(2024, 1, 1), end: Date.UTC(2024, 2, 1) });
    expect(dateRange('2024-02-29')).to.deep.equal({ start: Date.UTC(2024, 1, 29), end: Date.UTC(2024, 1, 29) + day });
    expect(dateRange('2024-03-05T10:15')).to.deep.equal({ start: Date.UTC(2024, 2, 5, 10, 15), end: Date.UTC(2024, 2, 5, 10, 16) });
    expect(dateRange('2024-03-05T10:15:30+02:00')).to.deep.equal({ start: Date.UTC(2024, 2, 5, 8, 15, 30), end: Date.UTC(2024, 2, 5, 8, 15, 31) });
    expect(dateRange('2024-03-05T10:15:30.12Z')).to.deep.equal({ start: Date.UTC(2024, 2, 5, 10, 15, 30, 120), end: Date.UTC(2024, 2, 5, 10, 15, 30, 130) });
    expect(new Date(dateRange('0050-01-01')?.start ?? 0).getUTCFullYear()).to.equal(50);
    for (const bad of ['2023-02-29', '2024-13', '2024-01-01T25:00', '24-01-01', '2024-1-1', 'today']) {
      expect(dateRange(bad), bad).to.equal(undefined);
    }
  });

  it('keeps decimals exact and refuses absurd exponents', () => {
    expect(compare(parseDecimal('100.005')!.value, parseDecimal('100.0050')!.value)).to.equal(0);
    expect(compare(parseDecimal('0.1')!.value, parseDecimal('1e-1')!.value)).to.equal(0);
    expect(parseDecimal('1e999999999')).to.equal(undefined);
    const risk = { resourceType: 'RiskAssessment', status: 'final', prediction: [{ probabilityDecimal: 0.1 }] };
    expect(evaluateFilter('R4', risk, { resourceType: 'RiskAssessment', parameter: 'probability', value: 'gt1e999999999' })).to.equal('undecidable');
    // 0.1 + 0.2 style binary noise must not move a boundary: 99.995 is the lower edge of 100.00.
    const edge = { ...risk, prediction: [{ probabilityDecimal: 99.995 }] };
    expect(evaluateFilter('R4', edge, { resourceType: 'RiskAssessment', parameter: 'probability', value: '100.00' })).to.equal(true);
    expect(evaluateFilter('R4', edge, { resourceType: 'RiskAssessment', parameter: 'probability', value: '100.000' })).to.equal(false);
  });

  it('splits FHIRPath unions at the top level only', () => {
    expect(unionBranches('(Observation.value as Quantity) | (Observation.value as SampledData)')).to.deep.equal(['Observation.value as Quantity', 'Observation.value as SampledData']);
    expect(unionBranches("A.where(system='a|b') | (B.c | B.d)")).to.deep.equal(["A.where(system='a|b')", 'B.c | B.d']);
  });
});
