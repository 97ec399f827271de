// Token matching as key sets. Every value a resource has becomes the search strings that would find
// it (`system|code`, `system|`, `code`, or `|code` when it has no system), and a query value becomes
// the one key it spells, so equality is set intersection, the same test the match index runs.
//
// Codes, systems and identifier values compare case-sensitively and exactly: the spec leaves
// case-insensitivity to the code system, which a sidecar cannot know.
//
// A bare code (code, string, uri, boolean primitives) and a ContactPoint have no explicit system:
// servers index them with an implicit one (the bound value set's, or the ContactPoint.system) or
// none, so a query that names a system (`s|c`, `|c`, `s|`) cannot be decided against them.
import { escapeValue, splitFirst, unescapeValue } from './escape.js';
import type { TypedValue } from './engine.js';
import { UNDECIDABLE, type Verdict } from './verdict.js';

export interface TokenQuery {
  readonly key: string;
  /** The query constrains the system (including "no system", `|c`). */
  readonly hasSystem: boolean;
}

export interface TokenSide {
  readonly keys: ReadonlySet<string>;
  /** Has values without an explicit system. */
  readonly primitive: boolean;
  /** Has values of a type tokens do not cover. */
  readonly unsupported: boolean;
}

/** One OR item, escapes still in place; undefined when malformed. */
export function tokenQuery(raw: string): TokenQuery | undefined {
  const split = splitFirst(raw, '|');
  if (!split) return raw === '' ? undefined : { key: escapeValue(unescapeValue(raw)), hasSystem: false };
  const [system, code] = split.map(unescapeValue) as [string, string];
  // A second unescaped `|` belongs to no token syntax.
  if ((system === '' && code === '') || splitFirst(split[1], '|')) return undefined;
  return { key: codeKey(system, code), hasSystem: true };
}

function codeKey(system: string, code: string): string {
  return `${escapeValue(system)}|${escapeValue(code)}`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** The keys that find a (system, code) pair: a Coding's, or an Identifier's (system, value). */
export function systemCodeKeys(system: unknown, code: unknown, into: Set<string>): void {
  const s = str(system);
  const c = str(code);
  if (c !== undefined) {
    into.add(escapeValue(c));
    into.add(codeKey(s ?? '', c));
  }
  if (s !== undefined) into.add(`${escapeValue(s)}|`);
}

function codeableConceptKeys(concept: unknown, into: Set<string>): void {
  for (const coding of list(rec(concept)['coding'])) systemCodeKeys(rec(coding)['system'], rec(coding)['code'], into);
}

const BARE = new Set(['code', 'string', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid', 'markdown']);

export function tokenSide(values: readonly TypedValue[]): TokenSide {
  const keys = new Set<string>();
  let primitive = false;
  let unsupported = false;
  for (const { type, data } of values) {
    if (type === 'Coding') systemCodeKeys(rec(data)['system'], rec(data)['code'], keys);
    else if (type === 'CodeableConcept') codeableConceptKeys(data, keys);
    else if (type === 'CodeableReference') codeableConceptKeys(rec(data)['concept'], keys);
    else if (type === 'Identifier') systemCodeKeys(rec(data)['system'], rec(data)['value'], keys);
    else if (type === 'ContactPoint') {
      primitive = true;
      const v = str(rec(data)['value']);
      if (v !== undefined) keys.add(escapeValue(v));
    } else if (type === 'boolean' && typeof data === 'boolean') {
      primitive = true;
      keys.add(String(data));
    } else if (BARE.has(type) && typeof data === 'string') {
      primitive = true;
      keys.add(escapeValue(data));
    } else unsupported = true;
  }
  return { keys, primitive, unsupported };
}

/** Whether a parameter whose values have these static types may yield values with no explicit system. */
export function mayBePrimitive(types: ReadonlySet<string> | undefined): boolean {
  if (!types) return true;
  for (const t of types) if (t !== 'Coding' && t !== 'CodeableConcept' && t !== 'Identifier' && t !== 'CodeableReference') return true;
  return false;
}

export function matchTokenQuery(side: TokenSide, query: TokenQuery): Verdict {
  if (side.keys.has(query.key)) return true;
  if ((query.hasSystem && side.primitive) || side.unsupported) return UNDECIDABLE;
  return false;
}
