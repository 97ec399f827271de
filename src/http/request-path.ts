// One path, one meaning. The gateway routes on the path it sees and the upstream acts on the path
// it sees; whenever the two could differ, a request could reach the upstream around the gateway's own
// routes (`/fhir/x/../Subscription` is a Subscription create the gateway never validated). So the
// path under the FHIR base is read once, here, into segments; routing uses those segments and the
// proxy forwards exactly those segments, and a path whose meaning depends on how a server decodes
// it is refused instead of guessed at.
//
// Refused (400):
// - dot segments `.` and `..` in any spelling: plain, percent-encoded (`%2e`, `%2E.`, `.%2e`) and
//   encoded twice (`%252e`): some servers and servlet filters decode twice;
// - backslashes, plain or encoded (`\`, `%5c`): some servers take them for `/`;
// - an encoded slash (`%2f`) inside a segment: decoded, it splits the segment in two;
// - `;` (path parameters, plain or `%3b`): servlet containers strip `;...` from a segment, so
//   `Subscription;x=1` would be `Subscription` to the upstream but not to the gateway;
// - any encoded percent (`%25`): decoded again upstream it becomes whatever it encodes;
// - control characters, characters a URI must percent-encode (space, non-ASCII), and malformed
//   percent-encoding.
// Runs of `/` and a trailing `/` are collapsed: `//Subscription` and `Subscription/` are
// `Subscription`, to the router and to the upstream alike. Legitimate FHIR paths need none of the
// refused forms: types, ids, `_history`, `_search` and `$operation` names are plain ASCII.

export type FhirPath =
  | {
      ok: true;
      /** Decoded segments, no empty ones: what routing reads. */
      segments: string[];
      /** The same segments as sent (still percent-encoded), joined with '/': what the upstream receives. */
      relative: string;
    }
  | { ok: false; reason: string };

// `%25` first: an encoded percent is refused whatever it would decode to.
const REFUSED: Array<[RegExp, string]> = [
  [/%25/i, 'an encoded percent sign (%25)'],
  [/\\|%5c/i, 'a backslash'],
  [/;|%3b/i, 'a path parameter (;)'],
  [/%2f/i, 'an encoded slash (%2f) inside a segment'],
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  [/%(?:[01][0-9a-f]|7f)|[\u0000-\u001f\u007f]/i, 'a control character'],
  // A URI is ASCII (RFC 3986): anything else must come percent-encoded, or servers read it differently.
  [/[^\u0021-\u007e]/, 'a character that must be percent-encoded'],
];

/** Reads the part of a request path after the FHIR base (the query excluded). Never throws. */
export function parseFhirPath(afterBase: string): FhirPath {
  if (afterBase !== '' && !afterBase.startsWith('/')) return { ok: false, reason: 'the path does not continue the FHIR base with "/"' };
  for (const [pattern, what] of REFUSED) {
    if (pattern.test(afterBase)) return { ok: false, reason: `the path contains ${what}` };
  }
  const raw = afterBase.split('/').filter((s) => s !== '');
  const segments: string[] = [];
  for (const s of raw) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      return { ok: false, reason: 'the path has malformed percent-encoding' };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'the path contains a dot segment (. or ..)' };
    segments.push(decoded);
  }
  return { ok: true, segments, relative: raw.join('/') };
}
