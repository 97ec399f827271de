// FHIR date, dateTime and instant text as the range of instants its precision covers: `2024` is
// all of 2024, `2024-05-01T10:00` one minute. A time without a timezone is read as UTC, since the
// gateway cannot know the server's zone; a date alone is the UTC day.

export interface DateRange {
  /** Milliseconds since the epoch; -Infinity for an open start. */
  readonly start: number;
  /** Exclusive; Infinity for an open end. */
  readonly end: number;
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

// Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

export function dateRange(text: string): DateRange | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const year = Number(y);
  if (mo === undefined) return { start: utc(year, 0, 1), end: utc(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (month < 0 || month > 11) return undefined;
  if (d === undefined) return { start: utc(year, month, 1), end: utc(year, month + 1, 1) };
  const day = Number(d);
  if (day < 1 || day > new Date(utc(year, month + 1, 0)).getUTCDate()) return undefined;
  if (h === undefined) return { start: utc(year, month, day), end: utc(year, month, day + 1) };
  const [hour, minute, second] = [Number(h), Number(mi), Number(s ?? 0)];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const digits = fraction ?? '';
  const ms = Number(digits.slice(0, 3).padEnd(3, '0'));
  const start = utc(year, month, day, hour, minute, second, ms) - offsetMs(zone);
  const width = s === undefined ? 60_000 : digits === '' ? 1000 : 10 ** Math.max(0, 3 - digits.length);
  return { start, end: start + width };
}
