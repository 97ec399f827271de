// The values a search parameter selects from one resource.
import type { FhirVersion } from '../../config.js';
import type { FhirResource } from '../../events/event.js';
import type { TypedValue } from './engine.js';
import type { Plan } from './expression.js';
import { referencedType } from './reference-text.js';

export interface Extracted {
  readonly values: readonly TypedValue[];
  /** Some selected references might or might not belong (their target type is unknown), so a miss is not definite. */
  readonly unknown: boolean;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The Reference resolve() would follow; null when the value refers to nothing at all. */
function referenceOf(value: TypedValue): Record<string, unknown> | null | undefined {
  // R5 CodeableReference: the reference half is what resolve() would follow.
  const data = value.type === 'CodeableReference' ? record(value.data)?.['reference'] : value.data;
  const ref = value.type === 'Reference' || value.type === 'CodeableReference' ? record(data) : undefined;
  if (ref === undefined) return value.type === 'CodeableReference' ? null : undefined;
  return ref['reference'] === undefined && ref['type'] === undefined && ref['identifier'] === undefined ? null : ref;
}

/** undefined when fhirpath.js fails on this resource. */
export function extract(version: FhirVersion, plan: Plan, resource: FhirResource): Extracted | undefined {
  const values: TypedValue[] = [];
  let unknown = false;
  try {
    for (const branch of plan.branches) {
      for (const value of branch.evaluate(resource)) {
        if (branch.target === undefined) {
          values.push(value);
          continue;
        }
        const ref = referenceOf(value);
        if (ref === null) continue;
        const type = ref === undefined ? undefined : referencedType(version, ref, resource);
        if (type === undefined) unknown = true;
        else if (type === branch.target) values.push(value);
      }
    }
  } catch {
    return undefined;
  }
  return { values, unknown };
}
