// SubscriptionTopic search over the gateway's own topics, with the parameters of the R4B backport
// CapabilityStatement (url, derived-or-self SHALL; resource, title, trigger-description SHOULD)
// plus status, _id and version. Values in one parameter are ORed, parameters are ANDed.
import { canonicalMatches, splitCanonical } from './canonical.js';
import { resourceTypeOf } from './resource-type.js';
import type { Topic } from './topic.js';

/** A search the gateway cannot answer exactly; the caller answers 400 rather than a wrong result. */
export class TopicSearchError extends Error {
  override name = 'TopicSearchError';
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
  }
}

// Result-shaping parameters: the caller pages (_count); the rest do not change which topics match.
const IGNORED = new Set(['_count', '_format', '_summary', '_elements', '_pretty']);
const STATUS_SYSTEM = 'http://hl7.org/fhir/publication-status';

type Predicate = (topic: Topic) => boolean;
type Builder = (values: string[], modifier: string | undefined, param: string) => Predicate;

const PARAMETERS: Record<string, Builder> = {
  url: (values, modifier, param) => {
    noModifier(param, modifier);
    return (t) => values.some((v) => canonicalMatches(v, t.url, t.version));
  },
  'derived-or-self': (values, modifier, param) => {
    noModifier(param, modifier);
    const derivedFrom = (t: Topic) => t.derivedFrom.map(splitCanonical);
    return (t) => values.some((v) => canonicalMatches(v, t.url, t.version) || derivedFrom(t).some((d) => canonicalMatches(v, d.url, d.version)));
  },
  resource: (values, modifier, param) => {
    noModifier(param, modifier);
    const types = values.map((v) => resourceTypeOf(v) ?? v);
    return (t) => t.resourceTrigger.some((rt) => types.includes(rt.resource));
  },
  title: (values, modifier, param) => stringMatch(param, modifier, values, (t) => [t.title]),
  'trigger-description': (values, modifier, param) => stringMatch(param, modifier, values, (t) => t.resourceTrigger.map((rt) => rt.description)),
  status: (values, modifier, param) => {
    if (modifier !== undefined && modifier !== 'not') throw unsupportedModifier(param, modifier);
    const codes = values.flatMap((v) => statusCode(v) ?? []);
    return modifier === 'not' ? (t) => !codes.includes(t.status) : (t) => codes.includes(t.status);
  },
  _id: (values, modifier, param) => {
    noModifier(param, modifier);
    return (t) => values.includes(t.id);
  },
  version: (values, modifier, param) => {
    if (modifier === 'missing') return missing(param, values, (t) => t.version === undefined);
    noModifier(param, modifier);
    return (t) => t.version !== undefined && values.includes(t.version);
  },
};

export const TOPIC_SEARCH_PARAMETERS: readonly string[] = Object.keys(PARAMETERS);

/** `searched` names what the caller searched, for error messages (Basic on R4). */
export function searchTopics(topics: readonly Topic[], query: URLSearchParams, searched = 'SubscriptionTopic'): Topic[] {
  const predicates: Predicate[] = [];
  for (const [key, raw] of query) {
    const colon = key.indexOf(':');
    const name = colon < 0 ? key : key.slice(0, colon);
    const modifier = colon < 0 ? undefined : key.slice(colon + 1);
    if (IGNORED.has(name)) continue;
    const build = Object.hasOwn(PARAMETERS, name) ? PARAMETERS[name] : undefined;
    if (build === undefined) {
      throw new TopicSearchError(`${searched} search parameter ${JSON.stringify(name)} is not supported (supported: ${TOPIC_SEARCH_PARAMETERS.join(', ')})`, name);
    }
    // FHIR ignores a parameter given without a value.
    if (raw === '') continue;
    predicates.push(build(splitValues(raw), modifier, key));
  }
  return topics.filter((t) => predicates.every((p) => p(t)));
}

// Commas separate alternatives; `\,` is a literal comma and `\\` a literal backslash.
function splitValues(raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length && ',\\|$'.includes(raw[i + 1]!)) current += raw[++i];
    else if (c === ',') {
      values.push(current);
      current = '';
    } else current += c;
  }
  values.push(current);
  return values.filter((v) => v !== '');
}

function stringMatch(param: string, modifier: string | undefined, values: string[], fields: (t: Topic) => (string | undefined)[]): Predicate {
  if (modifier === 'missing') return missing(param, values, (t) => fields(t).every((f) => f === undefined));
  if (modifier === 'exact') return (t) => fields(t).some((f) => f !== undefined && values.includes(f));
  const wanted = values.map(fold);
  if (modifier === 'contains') return (t) => fields(t).some((f) => f !== undefined && wanted.some((w) => fold(f).includes(w)));
  if (modifier !== undefined) throw unsupportedModifier(param, modifier);
  return (t) => fields(t).some((f) => f !== undefined && wanted.some((w) => fold(f).startsWith(w)));
}

// FHIR string search ignores case and accents.
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

function missing(param: string, values: string[], isMissing: Predicate): Predicate {
  if (values.length !== 1 || (values[0] !== 'true' && values[0] !== 'false')) throw new TopicSearchError(`${param} takes true or false`, param);
  const want = values[0] === 'true';
  return (t) => isMissing(t) === want;
}

/** The publication-status code a token names; undefined for a code of another system, which no topic has. */
function statusCode(token: string): string | undefined {
  const bar = token.indexOf('|');
  if (bar < 0) return token;
  const system = token.slice(0, bar);
  return system === '' || system === STATUS_SYSTEM ? token.slice(bar + 1) : undefined;
}

function noModifier(param: string, modifier: string | undefined): void {
  if (modifier !== undefined) throw unsupportedModifier(param, modifier);
}

const unsupportedModifier = (param: string, modifier: string) => new TopicSearchError(`modifier :${modifier} is not supported on SubscriptionTopic search parameter ${param.split(':')[0]}`, param);
