// Just enough PromQL reading for the dashboard test: the metric selectors an expression uses
// and the label names it matches or groups on. Not a parser for every PromQL form, only the ones
// a dashboard uses (selectors with matchers, functions, aggregations with by/without, ranges).

export interface SelectorUse {
  metric: string;
  /** Label names in `{…}` matchers and in the expression's `by (…)`/`without (…)` clauses (every selector is taken to need them). */
  labels: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

export function selectorsOf(expr: string): SelectorUse[] {
  // Strings first (a matcher value may hold anything), then ranges such as [$__rate_interval].
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const grouping = [...text.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => names(m[1]!));
  const uses: SelectorUse[] = [];
  const selector = /([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?/g;
  const stripped = text.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of stripped.matchAll(selector)) {
    const [whole, name, matchers] = m;
    const after = stripped.slice(m.index + whole.length).trimStart();
    if (KEYWORDS.has(name!.toLowerCase()) || after.startsWith('(') || /^\d/.test(name!)) continue;
    // A name just after a matcher block's `{` is a label, not a metric; those were consumed with their selector.
    const labels = matchers ? [...matchers.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!) : [];
    uses.push({ metric: name!, labels: [...new Set([...labels, ...grouping])] });
  }
  return uses;
}

const names = (list: string) =>
  list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
