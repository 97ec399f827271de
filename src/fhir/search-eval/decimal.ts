// Exact decimals (mantissa × 10^exponent), so that precision ranges such as [99.995, 100.005) and
// values such as 100.005 compare without binary rounding.

export interface Decimal {
  readonly m: bigint;
  readonly e: number;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Beyond any double, and small enough that aligning two values (10n ** gap) stays cheap: `1e999999999` in a query must not hang. */
const MAX_EXPONENT = 1000;

export interface ParsedDecimal {
  readonly value: Decimal;
  /** Written with an exponent (`1e2`), whose precision the spec reads differently from plain digits. */
  readonly scientific: boolean;
}

export function parseDecimal(text: string): ParsedDecimal | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent] = m;
  if (whole === '' && fraction === '') return undefined;
  const e = Number(exponent ?? 0) - fraction.length;
  if (Math.abs(e) > MAX_EXPONENT || whole.length + fraction.length > MAX_EXPONENT) return undefined;
  return { value: { m: BigInt(`${sign}${whole}${fraction}` || '0'), e }, scientific: exponent !== undefined };
}

/** A JSON number as written: String() gives the shortest text that reads back as the same double. */
export function decimalOf(value: unknown): Decimal | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return parseDecimal(String(value))?.value;
  // R5 integer64 is a JSON string.
  if (typeof value === 'string') return parseDecimal(value)?.value;
  return undefined;
}

function align(a: Decimal, b: Decimal): [bigint, bigint] {
  if (a.e === b.e) return [a.m, b.m];
  return a.e > b.e ? [a.m * 10n ** BigInt(a.e - b.e), b.m] : [a.m, b.m * 10n ** BigInt(b.e - a.e)];
}

export function compare(a: Decimal, b: Decimal): number {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y] = align(a, b);
  return { m: x + y, e: Math.min(a.e, b.e) };
}

export function negative(a: Decimal): Decimal {
  return { m: -a.m, e: a.e };
}

/** Half a unit in the position `10^e`: the ± of a value's implicit precision range. */
export function halfUnit(e: number): Decimal {
  return { m: 5n, e: e - 1 };
}
