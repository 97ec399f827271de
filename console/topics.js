// Topics as the console shows them, read from the gateway in whatever form its FHIR version
// uses (SubscriptionTopic on R4B/R5, Basic-wrapped on R4), and filters checked against canFilterBy.

const TOPIC_CANONICAL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';
const XVER = ['http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.', 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.'];
const ARTIFACT_URL = 'http://hl7.org/fhir/StructureDefinition/artifact-url';
export const COMPARATORS = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

const typeOf = (uri) => (uri ?? '').replace(/^https?:\/\/hl7\.org\/fhir\/StructureDefinition\//, '');

/** The topic canonicals the CapabilityStatement advertises on its Subscription entry. */
export function advertisedTopics(capability) {
  return (capability?.rest ?? [])
    .flatMap((r) => r.resource ?? [])
    .filter((r) => r.type === 'Subscription')
    .flatMap((r) => r.extension ?? [])
    .filter((e) => e.url === TOPIC_CANONICAL)
    .map((e) => e.valueCanonical);
}

export async function readTopics(api, version) {
  const query = version === 'R4' ? 'Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic' : 'SubscriptionTopic?_count=200';
  const bundle = await api.call('GET', query);
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter(Boolean)
    .map((r) => (r.resourceType === 'Basic' ? fromBasic(r) : fromTopic(r)));
}

function fromTopic(t) {
  return {
    id: t.id,
    url: t.url,
    version: t.version,
    title: t.title ?? t.name ?? t.url,
    status: t.status,
    description: t.description,
    triggers: (t.resourceTrigger ?? []).map((rt) => ({
      resource: typeOf(rt.resource),
      interactions: rt.supportedInteraction ?? [],
      previous: rt.queryCriteria?.previous,
      current: rt.queryCriteria?.current,
      fhirPath: rt.fhirPathCriteria,
      description: rt.description,
    })),
    filters: (t.canFilterBy ?? []).map((f) => ({
      resource: f.resource === undefined ? undefined : typeOf(f.resource),
      parameter: f.filterParameter,
      comparators: [...(f.comparator ?? []), ...(f.modifier ?? []).filter((m) => COMPARATORS.includes(m))],
      modifiers: (f.modifier ?? []).filter((m) => !COMPARATORS.includes(m)),
      description: f.description,
    })),
  };
}

/** A Basic-wrapped topic (backport IG 1.2.0) rewritten as SubscriptionTopic JSON, then read as one. */
function fromBasic(basic) {
  const named = (list, name) => (list ?? []).filter((e) => XVER.some((p) => e.url === p + name));
  const value = (e) => (e === undefined ? undefined : Object.entries(e).find(([k]) => k.startsWith('value'))?.[1]);
  const child = (e, name) => value((e.extension ?? []).find((c) => c.url === name));
  const children = (e, name) => (e.extension ?? []).filter((c) => c.url === name).map(value);
  const ext = basic.extension ?? [];
  return fromTopic({
    id: basic.id,
    url: value(ext.find((e) => e.url === ARTIFACT_URL)) ?? value(named(ext, 'url')[0]),
    version: value(named(ext, 'version')[0]),
    title: value(named(ext, 'title')[0]),
    name: value(named(ext, 'name')[0]),
    description: value(named(ext, 'description')[0]),
    status: value(named(basic.modifierExtension, 'status')[0]) ?? value((basic.modifierExtension ?? [])[0]),
    resourceTrigger: named(ext, 'resourceTrigger').map((t) => {
      const q = (t.extension ?? []).find((c) => c.url === 'queryCriteria');
      return {
        resource: child(t, 'resource'),
        supportedInteraction: children(t, 'supportedInteraction'),
        description: child(t, 'description'),
        fhirPathCriteria: child(t, 'fhirPathCriteria'),
        queryCriteria: q === undefined ? undefined : { previous: child(q, 'previous'), current: child(q, 'current') },
      };
    }),
    canFilterBy: named(ext, 'canFilterBy').map((f) => ({
      resource: child(f, 'resource'),
      filterParameter: child(f, 'filterParameter'),
      description: child(f, 'description'),
      comparator: children(f, 'comparator'),
      modifier: children(f, 'modifier'),
    })),
  });
}

/**
 * One filter typed as the backport IG writes it (`patient=Patient/1`, `Encounter?patient=…`,
 * `Encounter.patient:not=…`, `value-quantity=gt100`), checked against the topic's canFilterBy.
 * Returns { filter } or { error } with a sentence a person can act on.
 */
export function checkFilter(text, topic) {
  const m = /^(?:([A-Z][A-Za-z]*)[?.])?([A-Za-z0-9_.-]+)(?::([a-z-]+))?=(.*)$/.exec(text.trim());
  if (!m) return { error: 'write it as parameter=value, optionally Type?parameter=value or parameter:modifier=value' };
  const [, resourceType, parameter, modifier, raw] = m;
  if (raw === '') return { error: 'a value is needed after =' };
  const types = topic.triggers.map((t) => t.resource);
  if (resourceType !== undefined && !types.includes(resourceType)) return { error: `${resourceType} does not trigger this topic (it has ${types.join(', ')})` };
  const candidates = topic.filters.filter((f) => f.parameter === parameter && (resourceType === undefined || f.resource === undefined || f.resource === resourceType));
  if (candidates.length === 0) {
    const allowed = topic.filters.filter((f) => resourceType === undefined || f.resource === undefined || f.resource === resourceType).map((f) => f.parameter);
    return { error: `${parameter} is not a filter of this topic${allowed.length ? ` (allowed: ${[...new Set(allowed)].join(', ')})` : ' (it allows none)'}` };
  }
  if (modifier !== undefined && !candidates.some((f) => f.modifiers.includes(modifier))) {
    const mods = [...new Set(candidates.flatMap((f) => f.modifiers))];
    return { error: `:${modifier} is not allowed on ${parameter}${mods.length ? ` (allowed: ${mods.join(', ')})` : ' (no modifiers are)'}` };
  }
  const prefix = /^([a-z]{2})(?=[\d-])/.exec(raw)?.[1];
  let comparator;
  if (prefix !== undefined && COMPARATORS.includes(prefix)) {
    if (!candidates.some((f) => f.comparators.includes(prefix))) return { error: `the comparator ${prefix} is not allowed on ${parameter}` };
    if (modifier !== undefined) return { error: 'a filter may have a modifier or a comparator, not both' };
    comparator = prefix;
  }
  const resource = resourceType ?? (candidates.length === 1 ? candidates[0].resource : undefined);
  return { filter: { resourceType: resource, parameter, modifier, comparator, value: comparator ? raw.slice(2) : raw, text: text.trim() } };
}
