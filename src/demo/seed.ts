import type { Encounter, Patient } from '@medplum/fhirtypes';

/**
 * What the demo upstream starts with, so that a newcomer's first subscription has something to
 * fire on: Patient/example and her planned Encounter/example. Updating that encounter to
 * `in-progress` fires the shipped encounter-admission topic (filter `patient=Patient/example`),
 * and any change to either fires patient-record-change. Shapes are valid in R4, R4B and R5.
 */
export function seedResources(version: 'R4' | 'R4B' | 'R5'): [Patient, Encounter] {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'example',
    identifier: [{ system: 'urn:example:mrn', value: '12345' }],
    name: [{ family: 'Lovelace', given: ['Ada'] }],
    gender: 'female',
    birthDate: '1815-12-10',
  };
  const inpatient = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' };
  const encounter = {
    resourceType: 'Encounter',
    id: 'example',
    status: 'planned',
    // R5 made Encounter.class a list of CodeableConcepts; R4 and R4B have one Coding.
    class: version === 'R5' ? [{ coding: [inpatient] }] : inpatient,
    subject: { reference: 'Patient/example' },
  } as Encounter;
  return [patient, encounter];
}
