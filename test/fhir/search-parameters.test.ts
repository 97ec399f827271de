import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import r5Model from 'fhirpath/fhir-context/r5';
import type { FhirVersion } from '../../src/config.js';
import { isResourceType, resourceTypes, searchParameter, searchParameterSource, searchParameters } from '../../src/fhir/search-parameters.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GENERATED = join(ROOT, 'src', 'fhir', 'generated');
const VERSIONS: FhirVersion[] = ['R4', 'R4B', 'R5'];

/** The top-level parts of a FHIRPath union (no `|` inside parentheses or string literals). */
function unionParts(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

describe('search parameter tables', () => {
  describe('R4', () => {
    it('has Encounter.patient as a reference to Patient, for Encounter only', () => {
      const p = searchParameter('R4', 'Encounter', 'patient');
      expect(p).to.deep.include({ code: 'patient', type: 'reference', expression: 'Encounter.subject.where(resolve() is Patient)' });
      expect(p?.target).to.deep.equal(['Patient']);
    });

    it('has the Observation parameters the filters use', () => {
      expect(searchParameter('R4', 'Observation', 'code')).to.deep.include({ type: 'token', expression: 'Observation.code' });
      const vq = searchParameter('R4', 'Observation', 'value-quantity');
      expect(vq?.type).to.equal('quantity');
      expect(vq?.expression).to.match(/^\(?Observation\.value/);
      expect(vq?.comparator).to.include.members(['eq', 'gt', 'lt', 'ge', 'le']);
      const cvq = searchParameter('R4', 'Observation', 'code-value-quantity');
      expect(cvq?.type).to.equal('composite');
      expect(cvq?.expression).to.equal('Observation');
      expect(cvq?.component).to.have.length(2);
      expect(cvq?.component?.[0]).to.deep.include({ expression: 'code', type: 'token' });
      expect(cvq?.component?.[1]?.type).to.equal('quantity');
      expect(cvq?.component?.[1]?.expression).to.match(/^value/);
    });

    it('has Patient.birthdate and Encounter.status', () => {
      expect(searchParameter('R4', 'Patient', 'birthdate')).to.deep.include({ type: 'date', expression: 'Patient.birthDate' });
      expect(searchParameter('R4', 'Encounter', 'status')).to.deep.include({ type: 'token', expression: 'Encounter.status' });
    });

    it('falls back to the parameters of every resource, rooted at the type', () => {
      expect(searchParameter('R4', 'Patient', '_id')).to.deep.include({ code: '_id', type: 'token', expression: 'Patient.id' });
      expect(searchParameter('R4', 'Observation', '_lastUpdated')).to.deep.include({ type: 'date', expression: 'Observation.meta.lastUpdated' });
      expect(searchParameter('R4', 'Encounter', '_tag')?.expression).to.equal('Encounter.meta.tag');
      const all = searchParameters('R4', 'Patient');
      for (const code of ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', 'birthdate', 'name']) expect(all.has(code), code).to.equal(true);
      expect([...all.keys()]).to.deep.equal([...all.keys()].sort());
    });

    it('anchors the relative expression of InsurancePlan.name on its type', () => {
      expect(searchParameter('R4', 'InsurancePlan', 'name')?.expression).to.equal('InsurancePlan.name | InsurancePlan.alias');
    });

    it('knows nothing of unknown types and codes', () => {
      expect(searchParameter('R4', 'Patient', 'no-such-param')).to.equal(undefined);
      expect(searchParameter('R4', 'NoSuchType', '_id')).to.equal(undefined);
      expect(searchParameter('R4', 'Resource', '_id')).to.equal(undefined);
      expect(searchParameters('R4', 'NoSuchType').size).to.equal(0);
    });
  });

  it('splits the multi-resource expressions per type', () => {
    for (const version of VERSIONS) {
      for (const type of resourceTypes(version)) {
        for (const [code, p] of searchParameters(version, type)) {
          if (p.expression === undefined) continue;
          for (const part of unionParts(p.expression)) {
            expect(part.replace(/^\(+/, ''), `${version} ${type}.${code}: ${p.expression}`).to.match(new RegExp(`^${type}(\\.|\\)| |$)`));
          }
        }
      }
    }
    expect(searchParameter('R5', 'Patient', 'death-date')?.expression).to.equal('(Patient.deceased.ofType(dateTime))');
    expect(searchParameter('R4', 'CarePlan', 'patient')?.expression).to.equal('CarePlan.subject.where(resolve() is Patient)');
    expect(searchParameter('R4B', 'ActivityDefinition', 'context')?.expression).to.equal('(ActivityDefinition.useContext.value as CodeableConcept)');
  });

  it('has resource types per version', () => {
    expect(isResourceType('R5', 'SubscriptionTopic')).to.equal(true);
    expect(isResourceType('R4', 'SubscriptionTopic')).to.equal(false);
    expect(isResourceType('R4B', 'SubscriptionStatus')).to.equal(true);
    expect(isResourceType('R4B', 'SubscriptionTopic')).to.equal(true);
    expect(isResourceType('R5', 'SubscriptionStatus')).to.equal(true);
    for (const version of VERSIONS) {
      expect(isResourceType(version, 'Patient')).to.equal(true);
      expect(isResourceType(version, 'Resource')).to.equal(false);
      expect(isResourceType(version, 'DomainResource')).to.equal(false);
      expect(isResourceType(version, 'patient')).to.equal(false);
      const types = [...resourceTypes(version)];
      expect(types).to.deep.equal([...types].sort());
      expect(types.length).to.be.within(130, 170);
    }
    expect(resourceTypes('R4').size).to.equal(147);
  });

  it('records where each table comes from', () => {
    expect(searchParameterSource('R5')).to.deep.equal({ source: 'hl7.fhir.r5.core@5.0.0', fhirVersion: '5.0.0' });
    expect(searchParameterSource('R4B')).to.deep.equal({ source: 'hl7.fhir.r4b.core@4.3.0', fhirVersion: '4.3.0' });
    expect(searchParameterSource('R4').source).to.match(/^@medplum\/definitions@/);
    expect(searchParameterSource('R4').fhirVersion).to.equal('4.0.1');
  });

  it('leaves out examples and Medplum additions', () => {
    // R5's example SearchParameter declares Patient.part-agree; Medplum's own parameters are not FHIR's.
    expect(searchParameter('R5', 'Patient', 'part-agree')).to.equal(undefined);
    expect(searchParameter('R4', 'Patient', 'part-agree')).to.equal(undefined);
    expect(searchParameter('R4B', 'Patient', 'age')).to.equal(undefined);
    expect(isResourceType('R4', 'Project')).to.equal(false);
    expect(isResourceType('R4', 'Bot')).to.equal(false);
  });

  it('returns the same frozen objects on every lookup', () => {
    const a = searchParameters('R5', 'Observation');
    expect(searchParameters('R5', 'Observation')).to.equal(a);
    const p = searchParameter('R5', 'Observation', 'subject');
    expect(p?.target).to.include('Patient');
    expect(Object.isFrozen(p)).to.equal(true);
    expect(Object.isFrozen(p?.target)).to.equal(true);
    expect(searchParameter('R5', 'Observation', '_id')).to.equal(searchParameter('R5', 'Observation', '_id'));
  });

  it('has FHIRPath expressions that compile', function () {
    this.timeout(60000);
    for (const version of VERSIONS) {
      const model = version === 'R5' ? r5Model : r4Model;
      for (const type of resourceTypes(version)) {
        for (const [code, p] of searchParameters(version, type)) {
          for (const expression of [p.expression, ...(p.component ?? []).map((c) => c.expression)]) {
            if (expression === undefined) continue;
            expect(() => fhirpath.compile(expression, model), `${version} ${type}.${code}: ${expression}`).not.to.throw();
          }
        }
      }
    }
    const encounter = { resourceType: 'Encounter', status: 'finished', subject: { reference: 'Patient/1' } };
    expect(fhirpath.evaluate(encounter, searchParameter('R4', 'Encounter', 'status')?.expression ?? '', undefined, r4Model)).to.deep.equal(['finished']);
  });

  it('is what the generator makes, every time', async function () {
    this.timeout(120000);
    const run = promisify(execFile);
    const dirs = [mkdtempSync(join(tmpdir(), 'fsg-defs-a-')), mkdtempSync(join(tmpdir(), 'fsg-defs-b-'))];
    try {
      for (const dir of dirs) await run(process.execPath, [join(ROOT, 'scripts', 'generate-definitions.mjs'), '--quiet', '--out', dir], { cwd: tmpdir() });
      const committed = readdirSync(GENERATED).sort();
      expect(committed).to.deep.equal(['search-parameters.r4.json', 'search-parameters.r4b.json', 'search-parameters.r5.json']);
      for (const dir of dirs) {
        expect(readdirSync(dir).sort()).to.deep.equal(committed);
        for (const file of committed) {
          // Compared as text so a stale or hand-edited table fails here: run `npm run generate:definitions`.
          expect(readFileSync(join(dir, file), 'utf8') === readFileSync(join(GENERATED, file), 'utf8'), file).to.equal(true);
        }
      }
      for (const file of committed) expect(readFileSync(join(GENERATED, file)).length, file).to.be.below(1.5 * 1024 * 1024);
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
