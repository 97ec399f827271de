// Just enough of JSON Schema 2020-12 to check the published event schema against the fixtures,
// since no schema library is a dependency. It throws on any keyword it does not implement, so the
// schema cannot grow a rule that this check silently skips.

type Schema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'examples', '$defs', '$comment', 'format']);

export function schemaAccepts(schema: Schema, value: unknown, root: Schema = schema): boolean {
  if (typeof schema === 'boolean') return schema;
  for (const [keyword, arg] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword) || keyword === 'then' || keyword === 'else') continue;
    if (!check(keyword, arg, schema, value, root)) return false;
  }
  return true;
}

function check(keyword: string, arg: unknown, schema: { [keyword: string]: unknown }, value: unknown, root: Schema): boolean {
  const sub = (s: unknown, v: unknown) => schemaAccepts(s as Schema, v, root);
  switch (keyword) {
    case 'type':
      return (Array.isArray(arg) ? arg : [arg]).some((t) => typeOf(value) === t || (t === 'number' && typeOf(value) === 'integer'));
    case 'enum':
      return (arg as unknown[]).some((e) => equal(e, value));
    case 'const':
      return equal(arg, value);
    case 'required':
      return !isObject(value) || (arg as string[]).every((k) => Object.hasOwn(value, k));
    case 'properties':
      return !isObject(value) || Object.entries(arg as object).every(([k, s]) => !Object.hasOwn(value, k) || sub(s, value[k]));
    case 'additionalProperties':
      if (arg !== true) throw new Error('additionalProperties other than true is not implemented');
      return true;
    case 'pattern':
      return typeof value !== 'string' || new RegExp(arg as string, 'u').test(value);
    case 'minLength':
      return typeof value !== 'string' || [...value].length >= (arg as number);
    case 'maxLength':
      return typeof value !== 'string' || [...value].length <= (arg as number);
    case '$ref': {
      const path = (arg as string).replace(/^#\//, '').split('/');
      if (!(arg as string).startsWith('#/')) throw new Error(`only local $ref is implemented: ${String(arg)}`);
      return sub(
        path.reduce<unknown>((s, key) => (s as Record<string, unknown>)[key], root),
        value,
      );
    }
    case 'allOf':
      return (arg as unknown[]).every((s) => sub(s, value));
    case 'anyOf':
      return (arg as unknown[]).some((s) => sub(s, value));
    case 'not':
      return !sub(arg, value);
    case 'if':
      return sub(arg, value) ? schema.then === undefined || sub(schema.then, value) : schema.else === undefined || sub(schema.else, value);
    default:
      throw new Error(`JSON Schema keyword ${keyword} is not implemented by this checker`);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeOf(value) === 'object';
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
