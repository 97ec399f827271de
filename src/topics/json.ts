// Narrow readers for FHIR JSON that arrives as `unknown`: each either returns the typed value or
// throws TopicInvalid naming the element, so a malformed topic fails with a path, not a TypeError.
import { TopicInvalid } from './invalid.js';

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new TopicInvalid(`${path} must be a JSON object`);
  return value;
}

/** FHIR repeats are arrays; absent means empty. */
export function list(value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TopicInvalid(`${path} must be an array`);
  return value;
}

/** FHIR forbids empty strings, so a blank one reads as absent rather than as a value. */
export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new TopicInvalid(`${path} must be a string`);
  return value.trim() === '' ? undefined : value;
}

export function requiredString(value: unknown, path: string, why = 'is required'): string {
  const s = optionalString(value, path);
  if (s === undefined) throw new TopicInvalid(`${path} ${why}`);
  return s;
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new TopicInvalid(`${path} must be true or false`);
  return value;
}

export function optionalCode<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
  const s = optionalString(value, path);
  if (s === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(s)) throw new TopicInvalid(`${path} must be one of ${allowed.join(', ')} (got ${JSON.stringify(s)})`);
  return s as T;
}

export function strings(value: unknown, path: string): string[] {
  return list(value, path).flatMap((item, i) => optionalString(item, `${path}[${i}]`) ?? []);
}

/** Drops keys whose value is undefined, so optional elements are absent rather than present-and-undefined. */
export function compact<T extends object>(o: T): T {
  for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
  return o;
}
