// uri matching: exact (case-sensitive) equality; `:below` for uris under the query (`http://a/fhir`
// finds `http://a/fhir/ValueSet/1`), `:above` for uris the query is under. Servers disagree on
// whether those are path-segment or plain string prefixes, so only the cases where both readings
// agree are decided.
import { unescapeValue } from './escape.js';
import type { TypedValue } from './engine.js';
import { UNDECIDABLE, type Verdict } from './verdict.js';

export type UriMode = 'exact' | 'below' | 'above';

const URI_TYPES = new Set(['uri', 'url', 'canonical', 'oid', 'uuid', 'string', 'code', 'id']);

/** `inner` lies under `outer`: true on segment boundaries, undecidable as a plain prefix only. */
function under(inner: string, outer: string): Verdict {
  if (inner === outer) return true;
  if (!inner.startsWith(outer)) return false;
  return outer.endsWith('/') || inner.charAt(outer.length) === '/' ? true : UNDECIDABLE;
}

export function matchUri(value: TypedValue, raw: string, mode: UriMode): Verdict {
  const query = unescapeValue(raw);
  if (query === '' || !URI_TYPES.has(value.type) || typeof value.data !== 'string') return UNDECIDABLE;
  const uri = value.data;
  if (mode === 'below') return under(uri, query);
  if (mode === 'above') return under(query, uri);
  if (uri === query) return true;
  // A versioned canonical (`url|1.0`) stored in a uri element: some servers strip the version.
  return uri.startsWith(`${query}|`) ? UNDECIDABLE : false;
}
