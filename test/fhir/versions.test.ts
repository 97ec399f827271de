import { expect } from 'chai';
import { FHIR_VERSION_STRING, fhirVersionFromCapability } from '../../src/fhir/versions.js';

const cs = (fhirVersion: unknown) => ({ resourceType: 'CapabilityStatement', fhirVersion });

describe('fhir/versions', () => {
  it('reads R4, R4B and R5 from fhirVersion, whatever the patch level or pre-release label', () => {
    const cases: Array<[string, string]> = [
      ['4.0.1', 'R4'],
      ['4.0.0', 'R4'],
      ['4.0', 'R4'],
      ['4.3.0', 'R4B'],
      ['4.3.0-snapshot1', 'R4B'],
      ['5.0.0', 'R5'],
      ['5.0.0-ballot', 'R5'],
      ['5.0.0-snapshot3', 'R5'],
      [' 5.0.0 ', 'R5'],
    ];
    for (const [version, expected] of cases) expect(fhirVersionFromCapability(cs(version)), version).to.equal(expected);
  });

  it('knows nothing else', () => {
    for (const version of ['3.0.2', '1.0.2', '4.1.0', '4.2.0', '4.30.0', '6.0.0-ballot2', '40.0.1', '', 'R4']) {
      expect(fhirVersionFromCapability(cs(version)), version).to.equal(undefined);
    }
    expect(fhirVersionFromCapability(cs(4))).to.equal(undefined);
    expect(fhirVersionFromCapability({ resourceType: 'CapabilityStatement' })).to.equal(undefined);
    expect(fhirVersionFromCapability({ resourceType: 'OperationOutcome', fhirVersion: '4.0.1' })).to.equal(undefined);
    for (const junk of [undefined, null, '4.0.1', 401, ['4.0.1']]) expect(fhirVersionFromCapability(junk)).to.equal(undefined);
  });

  it('writes each release back as its published version, which reads back as the same release', () => {
    expect(FHIR_VERSION_STRING).to.deep.equal({ R4: '4.0.1', R4B: '4.3.0', R5: '5.0.0' });
    for (const [release, version] of Object.entries(FHIR_VERSION_STRING)) expect(fhirVersionFromCapability(cs(version))).to.equal(release);
  });
});
