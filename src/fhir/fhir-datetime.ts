// FHIR `dateTime` / `instant` values: the grammar of the spec's regex, plus the calendar check the
// regex cannot make (no 30 February), since Date.parse silently rolls such days over.

const DATE_TIME = /^(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01])(?:T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(?:\.\d{1,9})?(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$/;

/**
 * Milliseconds since the epoch of the start of the value (`2026` is 2026-01-01T00:00:00Z), or
 * undefined when it is not a FHIR dateTime. A leap second is read as the following instant.
 */
export function parseFhirDateTime(text: string): number | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, year, month, day, , second] = m;
  if (month !== undefined && day !== undefined) {
    const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    if (Number(day) > daysInMonth) return undefined;
  }
  const ms = Date.parse(second === '60' ? text.replace(/:60(?=[.Z+-])/, ':59') : text);
  if (Number.isNaN(ms)) return undefined;
  return second === '60' ? ms + 1000 : ms;
}
