/** The FHIR `id` datatype: what resource ids and meta.versionId are. One definition for every room. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isFhirId(value: string): boolean {
  return FHIR_ID.test(value);
}
