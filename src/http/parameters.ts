import { parseBoundedJson } from '../fhir/bounded-json.js';
import { BodyTooLarge, readBody } from './body.js';
import type { Exchange } from './exchange.js';

/** An operation's input parameters, from the query (GET) or a Parameters body (POST). */
export type OperationParams = Map<string, string[]>;

export class ParametersInvalid extends Error {
  override name = 'ParametersInvalid';
}

const PRIMITIVE = /^value(String|Id|Code|Integer|Integer64|UnsignedInt|PositiveInt|Uri|Url|Canonical|Boolean|DateTime|Instant|Decimal)$/;

/** Must be called synchronously in the handler: it registers the body reader for POST. */
export function readOperationParams(ex: Exchange, limit: number): Promise<OperationParams> {
  const params: OperationParams = new Map();
  const add = (name: string, value: string) => params.set(name, [...(params.get(name) ?? []), value]);
  for (const [name, value] of new URLSearchParams(ex.query)) add(name, value);
  if (ex.method !== 'POST') return Promise.resolve(params);
  const body = readBody(ex, limit);
  return body.then(
    (bytes) => {
      if (bytes.length === 0) return params;
      const type = (ex.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type === 'application/x-www-form-urlencoded') {
        for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) add(name, value);
        return params;
      }
      for (const [name, value] of parametersInBody(bytes.toString('utf8'), limit)) add(name, value);
      return params;
    },
    (err: unknown) => {
      throw err instanceof BodyTooLarge ? new ParametersInvalid(err.message) : err;
    },
  );
}

/** The name and primitive value of each parameter of a Parameters body; ParametersInvalid says what is wrong. */
export function parametersInBody(text: string, limit: number): Array<[string, string]> {
  const parsed = parseBoundedJson(text, { maxBytes: limit });
  if (!parsed.ok) throw new ParametersInvalid(`The body is ${parsed.detail}`);
  return parametersOf(parsed.value);
}

function parametersOf(body: unknown): Array<[string, string]> {
  if (!isObject(body) || body.resourceType !== 'Parameters') throw new ParametersInvalid('The body must be a Parameters resource');
  if (body.parameter === undefined) return [];
  if (!Array.isArray(body.parameter)) throw new ParametersInvalid('Parameters.parameter must be an array');
  return body.parameter.map((p: unknown, i): [string, string] => {
    if (!isObject(p)) throw new ParametersInvalid(`Parameters.parameter[${i}] must be an object`);
    const keys = Object.keys(p).filter((k) => PRIMITIVE.test(k));
    const value = keys.length === 1 ? p[keys[0]!] : undefined;
    if (typeof p.name !== 'string' || p.name === '' || !(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      throw new ParametersInvalid(`Parameters.parameter[${i}] must have a name and one primitive value`);
    }
    return [p.name, String(value)];
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** All values of a parameter, comma-separated values split as FHIR search does. */
export function values(params: OperationParams, name: string): string[] {
  return (params.get(name) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}
