// Whether a resource change fires a topic's resource trigger. Pure: the in-memory search evaluator
// is injected (QueryEvaluator) so this module knows query criteria only as strings, and nothing is
// fetched or logged here; 'undecidable' tells the caller to ask the upstream or to log and skip.
import type { FhirVersion } from '../config.js';
import type { FhirResource } from '../events/event.js';
import { fhirPathCriteriaPasses, mentionsPrevious } from './fhirpath-criteria.js';
import { topicIdFromCanonical } from './parse-r5.js';
import { IMPLICIT_TOPIC_PREFIX, type CriteriaResult, type Interaction, type QueryCriteria, type ResourceTrigger, type Topic } from './topic.js';

export type Verdict = boolean | 'undecidable';

/**
 * Evaluates a query string (e.g. `status:not=finished`, URL-encoded or not, possibly prefixed
 * `Encounter?`) against a resource of a type.
 */
export type QueryEvaluator = (resourceType: string, resource: FhirResource, query: string) => Verdict;

export interface TriggerInput {
  interaction: Interaction;
  resourceType: string;
  /** Absent for delete (and ignored there: a deleted resource has no current state). */
  current?: FhirResource;
  /** Absent for create (and ignored there); for update, absent when it could not be fetched. */
  previous?: FhirResource;
}

/** The triggers of a topic that apply to this change (resource type + supportedInteraction; empty supportedInteraction = all). */
export function triggersFor(topic: Topic, resourceType: string, interaction: Interaction): ResourceTrigger[] {
  return topic.resourceTrigger.filter((t) => applies(t, resourceType, interaction));
}

function applies(trigger: ResourceTrigger, resourceType: string, interaction: Interaction): boolean {
  return trigger.resource === resourceType && (trigger.supportedInteraction.length === 0 || trigger.supportedInteraction.includes(interaction));
}

/**
 * Whether a trigger fires: true, false, or 'undecidable'. A trigger that does not apply to the
 * change (other type, unlisted interaction) is false, so callers need not filter first. With both
 * queryCriteria and fhirPathCriteria, both must pass.
 */
export function triggerFires(version: FhirVersion, trigger: ResourceTrigger, input: TriggerInput, evaluateQuery: QueryEvaluator): Verdict {
  if (!applies(trigger, input.resourceType, input.interaction)) return false;
  const query = trigger.queryCriteria === undefined ? true : queryCriteriaPass(trigger.queryCriteria, input, evaluateQuery);
  // FHIRPath is the costlier test, and a definite false needs no second opinion.
  if (query === false || trigger.fhirPathCriteria === undefined) return query;
  return and(query, fhirPathPasses(version, trigger.fhirPathCriteria, input));
}

/** Whether the topic fires for the change: any applicable trigger fires (undecidable if none is true and some undecidable). */
export function topicFires(version: FhirVersion, topic: Topic, input: TriggerInput, evaluateQuery: QueryEvaluator): Verdict {
  let verdict: Verdict = false;
  for (const trigger of triggersFor(topic, input.resourceType, input.interaction)) {
    const fires = triggerFires(version, trigger, input, evaluateQuery);
    if (fires === true) return true;
    if (fires === 'undecidable') verdict = 'undecidable';
  }
  return verdict;
}

/**
 * True when evaluating this topic for an update needs the previous version (queryCriteria.previous
 * present, or fhirPathCriteria mentions %previous). The pipeline fetches `previous` from history
 * only then; for a delete it always needs the deleted version, so that case is not asked.
 */
export function needsPrevious(topic: Topic, resourceType: string): boolean {
  return triggersFor(topic, resourceType, 'update').some((t) => t.queryCriteria?.previous !== undefined || (t.fhirPathCriteria !== undefined && mentionsPrevious(t.fhirPathCriteria)));
}

/**
 * The topic behind classic criteria subscriptions (`Encounter?status=finished`) for one type. It
 * has no criteria of its own: the subscription's criteria become its filters and do the selecting.
 * Create and update only, because an R4 criteria subscription notifies when a resource comes to
 * match the search, which a deleted resource never does.
 */
export function implicitTopic(resourceType: string): Topic {
  const url = IMPLICIT_TOPIC_PREFIX + resourceType;
  return {
    url,
    name: `Criteria${resourceType}`,
    title: `${resourceType} matching a classic criteria search`,
    status: 'active',
    derivedFrom: [],
    resourceTrigger: [{ resource: resourceType, supportedInteraction: ['create', 'update'] }],
    canFilterBy: [],
    notificationShape: [],
    source: { kind: 'implicit' },
    id: topicIdFromCanonical(url),
  };
}

/*
 * queryCriteria. Each side, previous (P) and current (C), comes out as pass, fail, skip (not
 * evaluated) or undecidable:
 *
 *              P                                        C
 *   create     resultForCreate: test-passes → pass,     current evaluated on the current version
 *              test-fails → fail, absent → skip
 *   update     previous evaluated on the previous       current evaluated on the current version
 *              version
 *   delete     previous evaluated on the previous       resultForDelete: test-passes → pass,
 *              version                                  test-fails → fail, absent → skip
 *
 *   - A side whose query string is absent is skipped whatever resultForCreate/resultForDelete say:
 *     those stand in for a test the interaction makes impossible, and there is no test to stand in
 *     for. (Otherwise `current` alone with resultForCreate test-passes and no requireBoth would
 *     fire on every create, whatever the resource holds.)
 *   - resultForCreate/resultForDelete absent → skip. The IG and R5 example topics always set both,
 *     so they do not decide it. With requireBoth, skip behaves as test-passes (a create of a
 *     resource already in the target state fires); without, it leaves a create to the current
 *     test, where test-passes would fire on every create. fhir-candle reads absent as test-fails,
 *     so there a requireBoth topic without resultForCreate never fires on create.
 *   - A side to be evaluated on a version the caller could not supply (an update whose previous
 *     version was not fetched) is undecidable; so is any 'undecidable' from the query evaluator,
 *     or an exception from it.
 *
 * The sides combine (T true, F false, ? undecidable):
 *
 *   requireBoth true                      requireBoth false or absent
 *   P \ C  pass  fail  skip  undec        P \ C  pass  fail  skip  undec
 *   pass    T     F     T     ?           pass    T     T     T     T
 *   fail    F     F     F     F           fail    T     F     F     ?
 *   skip    T     F     T     ?           skip    T     F     T     ?
 *   undec   ?     F     ?     ?           undec   T     ?     ?     ?
 *
 * That is: with requireBoth a skipped side counts as passing; without it only evaluated sides
 * count, and with neither evaluated the trigger fires (criteria that test nothing exclude nothing).
 */
type Side = 'pass' | 'fail' | 'skip' | 'undecidable';

function queryCriteriaPass(criteria: QueryCriteria, input: TriggerInput, evaluateQuery: QueryEvaluator): Verdict {
  const { interaction } = input;
  const previous = criteria.previous === undefined ? 'skip' : interaction === 'create' ? stoodIn(criteria.resultForCreate) : test(evaluateQuery, input.resourceType, input.previous, criteria.previous);
  const current = criteria.current === undefined ? 'skip' : interaction === 'delete' ? stoodIn(criteria.resultForDelete) : test(evaluateQuery, input.resourceType, input.current, criteria.current);
  return combine(previous, current, criteria.requireBoth === true);
}

const stoodIn = (result: CriteriaResult | undefined): Side => (result === 'test-passes' ? 'pass' : result === 'test-fails' ? 'fail' : 'skip');

function test(evaluateQuery: QueryEvaluator, resourceType: string, resource: FhirResource | undefined, query: string): Side {
  if (resource === undefined) return 'undecidable';
  let verdict: Verdict;
  try {
    verdict = evaluateQuery(resourceType, resource, query);
  } catch {
    // The evaluator is injected and may not know every query; the caller's fallback for
    // undecidable (ask the upstream, or log) is the right one for a failure too.
    return 'undecidable';
  }
  return verdict === 'undecidable' ? 'undecidable' : verdict ? 'pass' : 'fail';
}

function combine(previous: Side, current: Side, requireBoth: boolean): Verdict {
  const sides = [previous, current];
  if (requireBoth) {
    if (sides.includes('fail')) return false;
    return sides.includes('undecidable') ? 'undecidable' : true;
  }
  const evaluated = sides.filter((s) => s !== 'skip');
  if (evaluated.length === 0 || evaluated.includes('pass')) return true;
  return evaluated.includes('undecidable') ? 'undecidable' : false;
}

/*
 * %previous and %current are `{}` where the interaction has no such version (create, delete), as
 * the spec says. An update whose previous version could not be fetched is different: `{}` would
 * pose as "no previous version" and, for the usual `%previous.id.empty() or ...`, fire where it
 * should not, so an expression that reads %previous is undecidable then.
 */
function fhirPathPasses(version: FhirVersion, expression: string, input: TriggerInput): Verdict {
  const previous = input.interaction === 'create' ? undefined : input.previous;
  const current = input.interaction === 'delete' ? undefined : input.current;
  const context = input.interaction === 'delete' ? previous : current;
  if (context === undefined) return 'undecidable';
  if (input.interaction === 'update' && previous === undefined && mentionsPrevious(expression)) return 'undecidable';
  return fhirPathCriteriaPasses(version, expression, { context, previous, current });
}

function and(a: Verdict, b: Verdict): Verdict {
  if (a === false || b === false) return false;
  return a === true && b === true ? true : 'undecidable';
}
