// Structure-aware generators for the fuzz suite: near-valid inputs with mutated members (wrong types,
// deletions, prototype keys, deep nesting, huge or odd strings), not only random text, so that the
// cases reach the code past the first type check.
import fc from 'fast-check';

/** One seed for the whole run, printed on failure (FUZZ_SEED reproduces a run). */
export const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

export const nest = (depth: number, inner = '1', open = '[', close = ']') => open.repeat(depth) + inner + close.repeat(depth);

const oddString = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\ud800',
      '\udfff',
      '💥',
      'null',
      'undefined',
      '{',
      '[]',
      '..',
      '%2e%2e',
      '../admin',
      'Patient/1',
      'http://127.0.0.1:1/',
      'é'.normalize('NFD'),
      '\u202e',
      ...PROTO_KEYS,
    ),
  },
  // Huge strings: within the body limits, but far beyond any real member.
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

const oddNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 1e308, -0, 2 ** 53 + 1, 0.1));

/** Any JSON value, with prototype keys among the member names. */
export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    oddNumber,
    oddString,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...PROTO_KEYS)), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A value nested far deeper than any bound: arrays or objects, 90 to 3000 levels. */
export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 90, max: 1500 }), fc.boolean())
  .map(([depth, objects]) => JSON.parse(objects ? nest(depth, '1', '{"a":', '}') : nest(depth)) as unknown);

const anyValue = fc.oneof({ weight: 6, arbitrary: jsonValue }, { weight: 1, arbitrary: deepValue });

type Json = Record<string, unknown>;
type Path = Array<string | number>;

/** Every path into a template, its root included. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...at, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]));
  return out;
}

type Mutation = { path: Path; op: 'set' | 'delete' | 'proto' | 'wrap' } & { value: unknown; key: string };

/**
 * Defines an own, enumerable member (so "__proto__" becomes a member, as JSON.parse makes it); a
 * member that cannot be (an array's "length") leaves the value as it was.
 */
function put(obj: object, key: string | number, value: unknown): void {
  try {
    Object.defineProperty(obj, key, { value, enumerable: true, configurable: true, writable: true });
  } catch {
    // Not every generated mutation applies to every value.
  }
}

function apply(template: unknown, mutations: Mutation[]): unknown {
  let root = structuredClone(template);
  for (const m of mutations) {
    if (m.path.length === 0) {
      if (m.op === 'set') root = m.value;
      else if (m.op === 'wrap') root = [root];
      else if (m.op === 'proto' && root && typeof root === 'object') put(root, m.key, m.value);
      continue;
    }
    let parent: unknown = root;
    for (const step of m.path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Json)[step as string] : undefined;
    if (!parent || typeof parent !== 'object') continue;
    const last = m.path.at(-1)!;
    const target = parent as Json;
    if (m.op === 'set') put(target, last, m.value);
    else if (m.op === 'delete') {
      // Not splice: an array given an own "constructor" member by an earlier mutation breaks it.
      if (Array.isArray(target) && typeof last === 'number') {
        for (let i = last; i < target.length - 1; i++) target[i] = target[i + 1];
        target.length = Math.max(0, target.length - 1);
      } else delete target[last as string];
    } else if (m.op === 'wrap') put(target, last, [target[last as string]]);
    else {
      const inner = target[last as string];
      if (inner && typeof inner === 'object') put(inner, m.key, m.value);
    }
  }
  return root;
}

/** The template itself now and then, and otherwise the template with one to four mutations. */
export function nearValid(template: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(template);
  const mutation: fc.Arbitrary<Mutation> = fc.record({
    path: fc.constantFrom(...paths),
    op: fc.constantFrom<Mutation['op'][]>('set', 'set', 'delete', 'proto', 'wrap'),
    value: anyValue,
    key: fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 8 })),
  });
  return fc.oneof({ weight: 1, arbitrary: fc.constant(template) }, { weight: 9, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }).map((ms) => apply(template, ms)) });
}

/** JSON text for a value, or now and then broken text around it. */
export function jsonText(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.tuple(value, fc.nat()).map(([v, n]) => {
        const t = JSON.stringify(v) ?? '';
        return t.slice(0, n % (t.length + 1));
      }),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  );
}

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const ADMISSION_TOPIC = 'http://example.org/fhir/SubscriptionTopic/admission';

export const R4_SUBSCRIPTION = {
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'fuzz',
  criteria: ADMISSION_TOPIC,
  _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: 'Encounter?patient=Patient/123' }] },
  channel: {
    extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: 60 }],
    type: 'websocket',
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] },
  },
};

export const R4_CLASSIC = { resourceType: 'Subscription', status: 'active', reason: 'fuzz', criteria: 'Encounter?patient=Patient/123', channel: { type: 'websocket' } };

export const R5_SUBSCRIPTION = {
  resourceType: 'Subscription',
  status: 'requested',
  topic: ADMISSION_TOPIC,
  filterBy: [{ resourceType: 'Encounter', filterParameter: 'patient', value: 'Patient/123' }],
  channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'websocket' },
  content: 'id-only',
  contentType: 'application/fhir+json',
  heartbeatPeriod: 30,
};

export const PARAMETERS = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'eventsSinceNumber', valueString: '1' },
    { name: 'content', valueCode: 'id-only' },
    { name: 'status', valueCode: 'active' },
    { name: 'id', valueId: 'abc' },
  ],
};

export const EVENT = {
  interaction: 'update',
  reference: 'Encounter/fuzz',
  versionId: '2',
  timestamp: '2026-01-01T00:00:00Z',
  resource: { resourceType: 'Encounter', id: 'fuzz', meta: { versionId: '2' }, status: 'in-progress', subject: { reference: 'Patient/123' } },
  previous: { resourceType: 'Encounter', id: 'fuzz', status: 'planned' },
};

/** WebSocket frames of both dialects, mutated, and raw text. */
export const frameText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: jsonText(nearValid({ type: 'bind-with-token', payload: { token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig', eventsSinceNumber: 3 } })) },
  { weight: 1, arbitrary: jsonText(nearValid({ type: 'ping' })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('bind-with-token', 'bind-with-token:', 'unbind-from-token', 'bind', ''),
        fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('a.b.c', 'x'.repeat(9000), '..', '__proto__')),
        fc.oneof(
          fc.constant(''),
          fc.nat().map((n) => ` events-since=${n}`),
          fc.string({ maxLength: 12 }).map((s) => ` events-since=${s}`),
        ),
      )
      .map(([cmd, token, tail]) => `${cmd} ${token}${tail}`),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
);

const segment = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      'Patient',
      'Encounter',
      'Subscription',
      'SubscriptionTopic',
      'Basic',
      'metadata',
      '_history',
      '_search',
      '$status',
      '$events',
      '$get-ws-binding-token',
      '123',
      'a.b',
      'x-y',
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '%2e',
      '%2E%2e',
      '.%2e',
      '%252e%252e',
      '\\',
      '%5c',
      '%2f',
      ';x=1',
      '%3b',
      '%00',
      '%0a',
      '%zz',
      '%c0%ae',
      '__proto__',
      '_x',
      'constructor',
      '%24status',
      'é',
      '%C3%A9',
      '~',
      '*',
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => s.replace(/[\s?#]/g, '')) },
);

/** A path under the FHIR base, starting with '/' (or not, now and then), and a query string. */
export const pathAndQuery: fc.Arbitrary<{ path: string; query: string }> = fc.record({
  path: fc
    .tuple(fc.array(fc.tuple(segment, fc.constantFrom('/', '/', '/', '//')), { maxLength: 6 }), fc.constantFrom('/', '/', '/', '//', ''))
    .map(([segs, lead]) => lead + segs.map(([s, sep], i) => (i === 0 ? s : sep + s)).join('')),
  query: fc.oneof(
    fc.constant(''),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('_count', '_id', 'patient', 'status', 'name', '_format', 'eventsSinceNumber', 'eventsUntilNumber', 'content', '__proto__', '_summary', 'x'),
          fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('-1', '99999999999999999999', '1e3', 'NaN', '', '%', '%zz', 'Patient/1', 'id-only', 'full-resource')),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => pairs.map(([k, v]) => `${k}=${/%/.test(v) ? v.replace(/[^\u0021-\u007e]/g, '') : encodeURIComponent(v)}`).join('&')),
  ),
});
