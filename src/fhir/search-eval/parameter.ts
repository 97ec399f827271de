// Which parameters the evaluator can work on at all: known to the version's tables, with an
// expression it can evaluate, matched by the ordinary rules of its type.
import type { FhirVersion } from '../../config.js';
import { searchParameter, type SearchParameterDef } from '../search-parameters.js';
import { planFor, type Plan } from './expression.js';

export interface Evaluable {
  readonly def: SearchParameterDef;
  readonly plan: Plan;
}

export function evaluable(version: FhirVersion, resourceType: string, parameter: string): Evaluable | undefined {
  // Chains (`subject.name`) and reverse chains (`_has:...`) need other resources.
  if (parameter.includes('.') || parameter === '_has' || parameter.startsWith('_has:')) return undefined;
  const def = searchParameter(version, resourceType, parameter);
  // composite and special parameters, and phonetic/near/... processing, follow rules of their own.
  if (!def || def.processingMode !== undefined || def.type === 'composite' || def.type === 'special') return undefined;
  const plan = planFor(version, resourceType, def);
  return plan ? { def, plan } : undefined;
}
