// The FHIR search parameters and resource types of each FHIR version, from the compact tables that
// scripts/generate-definitions.mjs derives from the official definitions (src/fhir/generated/).
// Each version's table is read once, on first use.
import { readFileSync } from 'node:fs';
import type { FhirVersion } from '../config.js';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** How a parameter is matched when not by its type's ordinary rules (R5 processingMode, R4/R4B xpathUsage). */
export type SearchProcessingMode = 'phonetic' | 'nearby' | 'distance' | 'other';

export interface SearchParameterComponent {
  /** Canonical URL of the parameter that gives this component its type. */
  readonly definition: string;
  /** FHIRPath relative to each item the composite's own expression selects. */
  readonly expression: string;
  /** The type of `definition`; absent where the source refers to a parameter it does not define. */
  readonly type?: SearchParamType;
}

export interface SearchParameterDef {
  readonly code: string;
  readonly type: SearchParamType;
  /**
   * FHIRPath for this resource type only, rooted at the type (`Encounter.subject.where(resolve() is Patient)`).
   * Absent for parameters the definitions give no expression (`_content`, `_text`, `_has`, `_query`, ... and a
   * few R5 data gaps): those cannot be evaluated in memory.
   */
  readonly expression?: string;
  readonly target?: readonly string[];
  readonly modifier?: readonly string[];
  readonly comparator?: readonly string[];
  readonly component?: readonly SearchParameterComponent[];
  readonly multipleOr?: boolean;
  readonly multipleAnd?: boolean;
  /** Set when matching is not the type's plain rule (phonetic names, `near`, `_has`, `_in`, ...). */
  readonly processingMode?: SearchProcessingMode;
}

type StoredDef = Omit<SearchParameterDef, 'code'>;

/** The generated file's shape. */
interface StoredTable {
  readonly version: FhirVersion;
  readonly fhirVersion: string;
  readonly source: string;
  readonly resourceTypes: readonly string[];
  /** Resource type → code → definition; the key `Resource` holds the parameters of every resource type. */
  readonly params: Readonly<Record<string, Readonly<Record<string, StoredDef>>>>;
}

interface Table {
  readonly stored: StoredTable;
  readonly resourceTypes: ReadonlySet<string>;
  readonly byType: Map<string, ReadonlyMap<string, SearchParameterDef>>;
}

const UNIVERSAL = 'Resource';
const FILES: Readonly<Record<FhirVersion, string>> = {
  R4: 'search-parameters.r4.json',
  R4B: 'search-parameters.r4b.json',
  R5: 'search-parameters.r5.json',
};
const EMPTY: ReadonlyMap<string, SearchParameterDef> = new Map();
const tables = new Map<FhirVersion, Table>();

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function table(version: FhirVersion): Table {
  let t = tables.get(version);
  if (t) return t;
  const file = FILES[version];
  if (!file) throw new Error(`unknown FHIR version ${String(version)}`);
  const stored = JSON.parse(readFileSync(new URL(`./generated/${file}`, import.meta.url), 'utf8')) as StoredTable;
  if (stored.version !== version || !Array.isArray(stored.resourceTypes) || typeof stored.params !== 'object') {
    throw new Error(`${file} is not the ${version} search parameter table`);
  }
  t = { stored: deepFreeze(stored), resourceTypes: new Set(stored.resourceTypes), byType: new Map() };
  tables.set(version, t);
  return t;
}

function withCode(code: string, def: StoredDef, expression = def.expression): SearchParameterDef {
  const out: { -readonly [K in keyof SearchParameterDef]: SearchParameterDef[K] } = { code, ...def };
  if (expression !== undefined) out.expression = expression;
  return Object.freeze(out);
}

/** The resource types of a FHIR version (concrete types only: no Resource, DomainResource, ...). */
export function resourceTypes(version: FhirVersion): ReadonlySet<string> {
  return table(version).resourceTypes;
}

export function isResourceType(version: FhirVersion, type: string): boolean {
  return table(version).resourceTypes.has(type);
}

/**
 * Every search parameter of a resource type, by code (sorted): its own and those of all resources
 * (`_id`, `_lastUpdated`, `_tag`, ...), whose expressions are rooted at the type (`Patient.meta.tag`).
 * Empty for a name that is not a resource type of the version.
 */
export function searchParameters(version: FhirVersion, resourceType: string): ReadonlyMap<string, SearchParameterDef> {
  const t = table(version);
  const cached = t.byType.get(resourceType);
  if (cached) return cached;
  if (!t.resourceTypes.has(resourceType)) return EMPTY;
  const own = t.stored.params[resourceType] ?? {};
  const universal = t.stored.params[UNIVERSAL] ?? {};
  const defs = new Map<string, SearchParameterDef>();
  for (const [code, def] of Object.entries(universal)) {
    if (Object.hasOwn(own, code)) continue;
    const expression = def.expression?.replace(/^Resource\./, `${resourceType}.`);
    defs.set(code, withCode(code, def, expression));
  }
  for (const [code, def] of Object.entries(own)) defs.set(code, withCode(code, def));
  const sorted: ReadonlyMap<string, SearchParameterDef> = new Map([...defs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  t.byType.set(resourceType, sorted);
  return sorted;
}

/** One search parameter of a resource type, falling back to those of all resources; undefined if unknown. */
export function searchParameter(version: FhirVersion, resourceType: string, code: string): SearchParameterDef | undefined {
  return searchParameters(version, resourceType).get(code);
}

/** Where a version's table comes from, e.g. `{ source: 'hl7.fhir.r5.core@5.0.0', fhirVersion: '5.0.0' }`. */
export function searchParameterSource(version: FhirVersion): { readonly source: string; readonly fhirVersion: string } {
  const { source, fhirVersion } = table(version).stored;
  return { source, fhirVersion };
}
