// Plain-object helpers for the trigger tests: topics, resources and a fake query evaluator.
import type { FhirResource } from '../../src/events/event.js';
import type { QueryEvaluator } from '../../src/topics/trigger.js';
import type { ResourceTrigger, Topic } from '../../src/topics/topic.js';

export function topicWith(...resourceTrigger: ResourceTrigger[]): Topic {
  return {
    url: 'http://example.org/SubscriptionTopic/t',
    status: 'active',
    derivedFrom: [],
    resourceTrigger,
    canFilterBy: [],
    notificationShape: [],
    source: { kind: 'config', file: 'test.json' },
    id: 't',
  };
}

export const encounter = (status: string, id = 'e1'): FhirResource => ({ resourceType: 'Encounter', id, status });

export interface QueryCall {
  resourceType: string;
  resource: FhirResource;
  query: string;
}

/**
 * Understands `status=X` and `status:not=X` (URL-encoded or not, optionally `Type?`-prefixed);
 * throws on `boom`; anything else is undecidable. Records every call.
 */
export function fakeQuery(calls: QueryCall[] = []): QueryEvaluator {
  return (resourceType, resource, query) => {
    calls.push({ resourceType, resource, query });
    if (query === 'boom') throw new Error('evaluator failure');
    let q = decodeURIComponent(query);
    if (q.startsWith(`${resourceType}?`)) q = q.slice(resourceType.length + 1);
    const m = /^status(:not)?=(.*)$/.exec(q);
    if (!m) return 'undecidable';
    const equal = resource.status === m[2];
    return m[1] ? !equal : equal;
  };
}

/** Freezes a value and everything it holds, so a mutation throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
