// The search value escapes (`\,` `\|` `\$` `\\`): a backslash makes the next separator literal, so
// splitting must skip escaped separators and unescaping must happen only after splitting.

const ESCAPABLE = new Set([',', '|', '$', '\\']);

/** Splits on every `sep` not escaped by a backslash; the parts keep their escapes. */
export function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Splits on the first unescaped `sep` only; undefined when there is none. */
export function splitFirst(text: string, sep: string): [string, string] | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === sep) return [text.slice(0, i), text.slice(i + 1)];
  }
  return undefined;
}

export function unescapeValue(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    const next = text[i + 1];
    // Unknown escapes keep their backslash: servers differ there, and keeping it cannot create a separator.
    if (c === '\\' && next !== undefined && ESCAPABLE.has(next)) {
      out += next;
      i++;
    } else out += c;
  }
  return out;
}

/** The escaped form of a literal, so that keys built from parts cannot collide across the `|`. */
export function escapeValue(text: string): string {
  return text.replace(/[\\,|$]/g, (c) => `\\${c}`);
}
