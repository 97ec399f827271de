import { BodyTooLarge, readBody } from './body.js';
import type { Exchange } from './exchange.js';

/** An operation's input parameters, from the query (GET) or a Parameters body (POST). */
export type OperationParams = Map<string, string[]>;

export class ParametersInvalid extends Error {
  override name = 'ParametersInvalid';
}

interface ParametersResource {
  resourceType: 'Parameters';
  parameter?: Array<{ name?: string } & Record<string, unknown>>;
}

const PRIMITIVE = /^value(String|Id|Code|Integer|Integer64|UnsignedInt|PositiveInt|Uri|Url|Canonical|Boolean|DateTime|Instant|Decimal)$/;

/** Must be called synchronously in the handler: it registers the body reader for POST. */
export function readOperationParams(ex: Exchange, limit: number): Promise<OperationParams> {
  const params: OperationParams = new Map();
  const add = (name: string, value: string) => params.set(name, [...(params.get(name) ?? []), value]);
  for (const [name, value] of new URLSearchParams(ex.query)) add(name, value);
  if (ex.method !== 'POST') return Promise.resolve(params);
  const body = readBody(ex, limit);
  return body.then((bytes) => {
    if (bytes.length === 0) return params;
    const type = (ex.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/x-www-form-urlencoded') {
      for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) add(name, value);
      return params;
    }
    let parsed: ParametersResource;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as ParametersResource;
    } catch (err) {
      throw new ParametersInvalid(`The body is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed?.resourceType !== 'Parameters') throw new ParametersInvalid('The body must be a Parameters resource');
    for (const [i, p] of (parsed.parameter ?? []).entries()) {
      const key = Object.keys(p).find((k) => PRIMITIVE.test(k));
      if (typeof p.name !== 'string' || !key) throw new ParametersInvalid(`Parameters.parameter[${i}] must have a name and a primitive value`);
      add(p.name, String(p[key]));
    }
    return params;
  }, (err: unknown) => {
    throw err instanceof BodyTooLarge ? new ParametersInvalid(err.message) : err;
  });
}

/** All values of a parameter, comma-separated values split as FHIR search does. */
export function values(params: OperationParams, name: string): string[] {
  return (params.get(name) ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}
