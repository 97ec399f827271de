// Reference matching. Literal references become `Type/id` keys (version and base URL dropped), a
// query value becomes the key it names, and equality is set intersection, as in the match index.
// What keys cannot express is decided apart: version-specific queries (servers differ on whether
// they match unversioned references), canonical references (url with optional `|version`), and
// `:identifier` (Reference.identifier as a token).
import type { FhirVersion } from '../../config.js';
import type { SearchParameterDef } from '../search-parameters.js';
import { isResourceType } from '../search-parameters.js';
import { splitFirst, unescapeValue } from './escape.js';
import type { TypedValue } from './engine.js';
import { parseReference, relative } from './reference-text.js';
import { matchTokenQuery, systemCodeKeys, type TokenQuery } from './token.js';
import { UNDECIDABLE, anyOf, type Verdict } from './verdict.js';

export interface ReferenceSide {
  /** `Type/id` of every literal reference; the raw string for those that are not `Type/id` (urn:uuid:...). */
  readonly keys: ReadonlySet<string>;
  /** `Type/id/_history/v` of version-specific references. */
  readonly versioned: ReadonlySet<string>;
  /** Canonical (and uri) values, as written. */
  readonly canonicals: readonly string[];
  /** The keys of each Reference.identifier. */
  readonly identifiers: ReadonlySet<string>;
  /** Values that are there but that no `Type/id` or url query can find (contained, logical, display-only). */
  readonly keyless: number;
  readonly unsupported: boolean;
}

export interface ReferenceQuery {
  /** `Type/id`, or the raw value when it is not one; undefined for a `url|version` query. */
  readonly key?: string;
  /** Set for `Type/id/_history/v`. */
  readonly versioned?: string;
  /** The query read as a canonical: absolute urls and `url|version`. */
  readonly canonical?: { readonly url: string; readonly version?: string };
}

function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

export function referenceSide(version: FhirVersion, values: readonly TypedValue[]): ReferenceSide {
  const keys = new Set<string>();
  const versioned = new Set<string>();
  const canonicals: string[] = [];
  const identifiers = new Set<string>();
  let keyless = 0;
  let unsupported = false;
  for (const { type, data } of values) {
    if (type === 'canonical' || type === 'uri' || type === 'url') {
      if (typeof data === 'string') canonicals.push(data);
      continue;
    }
    const ref = type === 'Reference' ? rec(data) : type === 'CodeableReference' ? rec(rec(data)['reference']) : undefined;
    if (!ref) {
      unsupported = true;
      continue;
    }
    const identifier = rec(ref['identifier']);
    systemCodeKeys(identifier['system'], identifier['value'], identifiers);
    const literal = ref['reference'];
    if (typeof literal !== 'string' || literal === '' || literal.startsWith('#')) {
      keyless++;
      continue;
    }
    const parts = parseReference(version, literal);
    if (!parts) keys.add(literal);
    else {
      keys.add(relative(parts));
      if (parts.version) versioned.add(`${relative(parts)}/_history/${parts.version}`);
    }
  }
  return { keys, versioned, canonicals, identifiers, keyless, unsupported };
}

const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * One OR item, escapes in place. `typeModifier` is the `:Type` modifier. Undefined when the value
 * cannot be read the way every server would: a bare id on a parameter with several target types
 * is an error by the spec (some servers guess).
 */
export function referenceQuery(version: FhirVersion, def: SearchParameterDef, raw: string, typeModifier?: string): ReferenceQuery | undefined {
  const pipe = splitFirst(raw, '|');
  if (pipe) {
    const [url, ver] = pipe.map(unescapeValue) as [string, string];
    return url === '' || ver === '' ? undefined : { canonical: { url, version: ver } };
  }
  const value = unescapeValue(raw);
  if (value === '') return undefined;
  if (typeModifier !== undefined) {
    if (value.includes('/')) return undefined;
    return { key: `${typeModifier}/${value}` };
  }
  if (!value.includes('/') && !ABSOLUTE.test(value)) {
    const only = def.target?.length === 1 ? def.target[0] : undefined;
    return only === undefined ? undefined : { key: `${only}/${value}` };
  }
  const canonical = ABSOLUTE.test(value) ? { canonical: { url: value } } : {};
  const parts = parseReference(version, value);
  if (!parts) return { key: value, ...canonical };
  const key = relative(parts);
  return parts.version ? { key, versioned: `${key}/_history/${parts.version}`, ...canonical } : { key, ...canonical };
}

/** Whether a `:Type` modifier names a type this parameter can point at. */
export function validTypeModifier(version: FhirVersion, def: SearchParameterDef, type: string): boolean {
  return isResourceType(version, type) && (def.target === undefined || def.target.includes(type));
}

function matchCanonical(canonical: string, query: ReferenceQuery): Verdict {
  // A relative query against a canonical: only a server that resolves canonicals to its own resources can say.
  if (!query.canonical) return UNDECIDABLE;
  const [url, version] = canonical.split('|', 2);
  if (url !== query.canonical.url) return false;
  if (query.canonical.version === undefined || query.canonical.version === version) return true;
  // An unversioned canonical may or may not mean the queried version (servers may resolve "latest").
  return version === undefined ? UNDECIDABLE : false;
}

export function matchReferenceQuery(side: ReferenceSide, query: ReferenceQuery): Verdict {
  let verdict: Verdict = false;
  if (query.versioned !== undefined) {
    if (side.versioned.has(query.versioned)) return true;
    // Same resource, other or no version: servers differ on whether a versioned query matches.
    if (query.key !== undefined && side.keys.has(query.key)) verdict = UNDECIDABLE;
  } else if (query.key !== undefined && side.keys.has(query.key)) return true;
  const canonical = anyOf(side.canonicals, (c) => matchCanonical(c, query));
  if (canonical === true) return true;
  return canonical === UNDECIDABLE || side.unsupported ? UNDECIDABLE : verdict;
}

export function matchIdentifierQuery(side: ReferenceSide, query: TokenQuery): Verdict {
  return matchTokenQuery({ keys: side.identifiers, primitive: false, unsupported: side.unsupported }, query);
}
