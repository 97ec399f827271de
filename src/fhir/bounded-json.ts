// The one reader for JSON the gateway parses from outside: request bodies it owns (Subscription,
// Parameters), resource-change events and WebSocket frames. JSON.parse itself takes any depth, but
// what comes after it does not: JSON.stringify, FHIRPath and the matchers recurse, and a document
// nested ten thousand deep throws RangeError deep inside them, where it looks like a transient
// failure and is retried. Bounding depth and size here turns that into a clear rejection up front.

/** Deeper than any real FHIR resource (a Questionnaire nested 40 items deep is about 85). */
export const MAX_JSON_DEPTH = 100;

export interface JsonBounds {
  /** Largest accepted text, in UTF-8 bytes. */
  maxBytes: number;
  /** Deepest accepted nesting of objects and arrays; MAX_JSON_DEPTH unless given. */
  maxDepth?: number;
}

export type JsonRejection = 'not-json' | 'too-large' | 'too-deep';

/** detail completes a sentence about the input: "the body is …", "message is …". */
export type BoundedJson = { ok: true; value: unknown } | { ok: false; reason: JsonRejection; detail: string };

/** Parses untrusted JSON within bounds. Never throws. */
export function parseBoundedJson(text: string, bounds: JsonBounds): BoundedJson {
  // A UTF-8 byte is at least a third of a UTF-16 unit: only count bytes when it could matter.
  if (text.length > bounds.maxBytes || (text.length * 3 > bounds.maxBytes && Buffer.byteLength(text) > bounds.maxBytes)) {
    return { ok: false, reason: 'too-large', detail: `larger than the limit of ${bounds.maxBytes} bytes` };
  }
  const maxDepth = bounds.maxDepth ?? MAX_JSON_DEPTH;
  if (depthExceeds(text, maxDepth)) return { ok: false, reason: 'too-deep', detail: `nested deeper than the limit of ${maxDepth} levels of objects and arrays` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    // V8 quotes part of the text in its message; keep it short.
    return { ok: false, reason: 'not-json', detail: `not valid JSON: ${(err instanceof Error ? err.message : String(err)).slice(0, 120)}` };
  }
}

/** One pass over the text, outside strings; malformed JSON is left for JSON.parse to name. */
function depthExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
