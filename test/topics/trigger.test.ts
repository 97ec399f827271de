import { expect } from 'chai';
import type { FhirResource } from '../../src/events/event.js';
import { parseTopic } from '../../src/topics/parse.js';
import { implicitTopic, needsPrevious, topicFires, triggerFires, triggersFor, type TriggerInput, type Verdict } from '../../src/topics/trigger.js';
import { IMPLICIT_TOPIC_PREFIX, type Interaction, type QueryCriteria, type ResourceTrigger } from '../../src/topics/topic.js';
import { encounter, fakeQuery, topicWith, type QueryCall } from './trigger-support.js';

type Side = 'pass' | 'fail' | 'skip' | 'undec';
const SIDES: Side[] = ['pass', 'fail', 'skip', 'undec'];
const T = true;
const F = false;
const U = 'undecidable' as const;

// The combination tables of trigger.ts, rows previous, columns current (pass, fail, skip, undec).
const REQUIRE_BOTH: Record<Side, Verdict[]> = {
  pass: [T, F, T, U],
  fail: [F, F, F, F],
  skip: [T, F, T, U],
  undec: [U, F, U, U],
};
const EITHER: Record<Side, Verdict[]> = {
  pass: [T, T, T, T],
  fail: [T, F, F, U],
  skip: [T, F, T, U],
  undec: [T, U, U, U],
};

/** One way to make a side come out as a given state: criteria to merge, and what it asks of the evaluator. */
interface Variant {
  label: string;
  criteria: Partial<QueryCriteria>;
  /** The version the caller could not supply. */
  drop?: 'previous' | 'current';
  /** The query the evaluator is asked, if any. */
  asks?: string;
}

// The change under test: previous version planned, current version finished.
const PREVIOUS = encounter('planned');
const CURRENT = encounter('finished');

const evaluatedPrevious: Record<Side, Variant[]> = {
  pass: [{ label: 'previous matches', criteria: { previous: 'status=planned' }, asks: 'status=planned' }],
  fail: [{ label: 'previous does not match', criteria: { previous: 'status:not=planned' }, asks: 'status:not=planned' }],
  skip: [
    { label: 'no previous', criteria: {} },
    { label: 'no previous, resultForCreate test-fails', criteria: { resultForCreate: 'test-fails' } },
  ],
  undec: [
    { label: 'evaluator undecided on previous', criteria: { previous: 'status:above=x' }, asks: 'status:above=x' },
    { label: 'previous version missing', criteria: { previous: 'status=planned' }, drop: 'previous' },
    { label: 'evaluator throws on previous', criteria: { previous: 'boom' }, asks: 'boom' },
  ],
};

const createPrevious: Record<Side, Variant[]> = {
  pass: [
    { label: 'resultForCreate test-passes', criteria: { previous: 'status:not=finished', resultForCreate: 'test-passes' } },
    { label: 'resultForCreate test-passes, previous unevaluable', criteria: { previous: 'boom', resultForCreate: 'test-passes' } },
  ],
  fail: [
    { label: 'resultForCreate test-fails', criteria: { previous: 'status:not=finished', resultForCreate: 'test-fails' } },
    { label: 'resultForCreate test-fails, previous unevaluable', criteria: { previous: 'boom', resultForCreate: 'test-fails' } },
  ],
  skip: [
    { label: 'no previous, no resultForCreate', criteria: {} },
    { label: 'no previous, resultForCreate test-passes', criteria: { resultForCreate: 'test-passes' } },
    { label: 'no previous, resultForCreate test-fails', criteria: { resultForCreate: 'test-fails' } },
    { label: 'previous without resultForCreate', criteria: { previous: 'status:not=finished' } },
  ],
  undec: [],
};

const evaluatedCurrent: Record<Side, Variant[]> = {
  pass: [{ label: 'current matches', criteria: { current: 'status=finished' }, asks: 'status=finished' }],
  fail: [{ label: 'current does not match', criteria: { current: 'status=arrived' }, asks: 'status=arrived' }],
  skip: [
    { label: 'no current', criteria: {} },
    { label: 'no current, resultForDelete test-passes', criteria: { resultForDelete: 'test-passes' } },
    { label: 'no current, resultForDelete test-fails', criteria: { resultForDelete: 'test-fails' } },
  ],
  undec: [
    { label: 'evaluator undecided on current', criteria: { current: 'status:above=x' }, asks: 'status:above=x' },
    { label: 'current version missing', criteria: { current: 'status=finished' }, drop: 'current' },
    { label: 'evaluator throws on current', criteria: { current: 'boom' }, asks: 'boom' },
  ],
};

const deleteCurrent: Record<Side, Variant[]> = {
  pass: [
    { label: 'resultForDelete test-passes', criteria: { current: 'status=finished', resultForDelete: 'test-passes' } },
    { label: 'resultForDelete test-passes, current unevaluable', criteria: { current: 'boom', resultForDelete: 'test-passes' } },
  ],
  fail: [{ label: 'resultForDelete test-fails', criteria: { current: 'status=finished', resultForDelete: 'test-fails' } }],
  skip: [
    { label: 'no current, no resultForDelete', criteria: {} },
    { label: 'no current, resultForDelete test-passes', criteria: { resultForDelete: 'test-passes' } },
    { label: 'no current, resultForDelete test-fails', criteria: { resultForDelete: 'test-fails' } },
    { label: 'current without resultForDelete', criteria: { current: 'status=finished' } },
  ],
  undec: [],
};

const VARIANTS: Record<Interaction, { previous: Record<Side, Variant[]>; current: Record<Side, Variant[]> }> = {
  create: { previous: createPrevious, current: evaluatedCurrent },
  update: { previous: evaluatedPrevious, current: evaluatedCurrent },
  delete: { previous: evaluatedPrevious, current: deleteCurrent },
};

function inputFor(interaction: Interaction, ...drop: Variant['drop'][]): TriggerInput {
  const input: TriggerInput = { interaction, resourceType: 'Encounter' };
  if (interaction !== 'create' && !drop.includes('previous')) input.previous = PREVIOUS;
  if (interaction !== 'delete' && !drop.includes('current')) input.current = CURRENT;
  return input;
}

const trigger = (queryCriteria?: QueryCriteria, fhirPathCriteria?: string, supportedInteraction: Interaction[] = []): ResourceTrigger => ({
  resource: 'Encounter',
  supportedInteraction,
  ...(queryCriteria && { queryCriteria }),
  ...(fhirPathCriteria && { fhirPathCriteria }),
});

describe('topics: trigger query criteria', () => {
  for (const interaction of ['create', 'update', 'delete'] as const) {
    it(`${interaction}: every reachable previous × current × requireBoth cell of the truth table`, () => {
      let cases = 0;
      const reached = new Set<string>();
      for (const p of SIDES) {
        for (const c of SIDES) {
          for (const pv of VARIANTS[interaction].previous[p]) {
            for (const cv of VARIANTS[interaction].current[c]) {
              for (const requireBoth of [true, false, undefined]) {
                const criteria: QueryCriteria = { ...pv.criteria, ...cv.criteria, ...(requireBoth !== undefined && { requireBoth }) };
                const calls: QueryCall[] = [];
                const input = inputFor(interaction, pv.drop, cv.drop);
                const got = triggerFires('R4', trigger(criteria), input, fakeQuery(calls));
                const expected = (requireBoth ? REQUIRE_BOTH : EITHER)[p][SIDES.indexOf(c)];
                const what = `${interaction} requireBoth=${String(requireBoth)}: P ${p} (${pv.label}) × C ${c} (${cv.label})`;
                expect(got, what).to.equal(expected);
                // Stood-in and skipped sides never reach the evaluator; evaluated ones see their own version.
                const asked = [pv.asks && { query: pv.asks, resource: PREVIOUS }, cv.asks && { query: cv.asks, resource: CURRENT }].filter(Boolean);
                expect(
                  calls.map((x) => ({ query: x.query, resource: x.resource })),
                  what,
                ).to.deep.equal(asked);
                for (const call of calls) expect(call.resourceType).to.equal('Encounter');
                reached.add(`${p}/${c}`);
                cases++;
              }
            }
          }
        }
      }
      const reachable = { create: ['pass', 'fail', 'skip'], update: SIDES, delete: SIDES }[interaction];
      const reachableCurrent = { create: SIDES, update: SIDES, delete: ['pass', 'fail', 'skip'] }[interaction];
      expect(reached.size).to.equal(reachable.length * reachableCurrent.length);
      expect(cases).to.be.greaterThan(100);
    });
  }

  it('reads the IG admission shape (requireBoth, previous status:not, current status) as "entered the state"', () => {
    const admission = trigger({ previous: 'status:not=in-progress', resultForCreate: 'test-passes', current: 'status=in-progress', resultForDelete: 'test-fails', requireBoth: true });
    const q = fakeQuery();
    expect(triggerFires('R4', admission, { interaction: 'create', resourceType: 'Encounter', current: encounter('in-progress') }, q)).to.equal(true);
    expect(triggerFires('R4', admission, { interaction: 'create', resourceType: 'Encounter', current: encounter('planned') }, q)).to.equal(false);
    expect(triggerFires('R4', admission, { interaction: 'update', resourceType: 'Encounter', previous: encounter('planned'), current: encounter('in-progress') }, q)).to.equal(true);
    expect(triggerFires('R4', admission, { interaction: 'update', resourceType: 'Encounter', previous: encounter('in-progress'), current: encounter('in-progress') }, q)).to.equal(false);
    expect(triggerFires('R4', admission, { interaction: 'update', resourceType: 'Encounter', current: encounter('in-progress') }, q)).to.equal(U);
    expect(triggerFires('R4', admission, { interaction: 'delete', resourceType: 'Encounter', previous: encounter('in-progress') }, q)).to.equal(false);
  });

  it('without requireBoth, only the criteria present count: a lone current criterion decides a create', () => {
    const finished = trigger({ current: 'status=finished', resultForCreate: 'test-passes' });
    expect(triggerFires('R4', finished, { interaction: 'create', resourceType: 'Encounter', current: encounter('planned') }, fakeQuery())).to.equal(false);
    expect(triggerFires('R4', finished, { interaction: 'create', resourceType: 'Encounter', current: encounter('finished') }, fakeQuery())).to.equal(true);
  });

  it('fires on anything when queryCriteria test nothing', () => {
    for (const interaction of ['create', 'update', 'delete'] as const) {
      expect(triggerFires('R4', trigger({}), inputFor(interaction), fakeQuery()), interaction).to.equal(true);
      expect(triggerFires('R4', trigger({ requireBoth: true }), inputFor(interaction), fakeQuery()), interaction).to.equal(true);
      expect(triggerFires('R4', trigger(), inputFor(interaction), fakeQuery()), interaction).to.equal(true);
    }
  });

  it('hands the evaluator the query string as written (encoded, Type?-prefixed) with the event resource type', () => {
    const calls: QueryCall[] = [];
    const t = trigger({ previous: 'Encounter?status%3Anot=finished', current: 'status=finished', requireBoth: true });
    const input: TriggerInput = { interaction: 'update', resourceType: 'Encounter', previous: encounter('planned'), current: encounter('finished') };
    expect(triggerFires('R5', t, input, fakeQuery(calls))).to.equal(true);
    expect(calls.map((c) => [c.resourceType, c.query])).to.deep.equal([
      ['Encounter', 'Encounter?status%3Anot=finished'],
      ['Encounter', 'status=finished'],
    ]);
  });

  it('ignores a previous version given for a create and a current one given for a delete', () => {
    const calls: QueryCall[] = [];
    const t = trigger({ previous: 'status=planned', resultForCreate: 'test-fails', current: 'status=finished', resultForDelete: 'test-fails' });
    const stray = { previous: encounter('planned'), current: encounter('finished') };
    expect(triggerFires('R4', t, { interaction: 'create', resourceType: 'Encounter', ...stray }, fakeQuery(calls))).to.equal(true);
    expect(triggerFires('R4', t, { interaction: 'delete', resourceType: 'Encounter', ...stray }, fakeQuery(calls))).to.equal(true);
    expect(calls.map((c) => [c.query, c.resource.status])).to.deep.equal([
      ['status=finished', 'finished'],
      ['status=planned', 'planned'],
    ]);
  });
});

describe('topics: trigger selection', () => {
  const createOnly = trigger(undefined, undefined, ['create']);
  const everything = { ...trigger(), description: 'all interactions' };
  const patientUpdates: ResourceTrigger = { resource: 'Patient', supportedInteraction: ['update', 'delete'] };
  const topic = topicWith(createOnly, everything, patientUpdates);

  it('triggersFor keeps the triggers for the type whose supportedInteraction lists the interaction (empty = all)', () => {
    expect(triggersFor(topic, 'Encounter', 'create')).to.deep.equal([createOnly, everything]);
    expect(triggersFor(topic, 'Encounter', 'update')).to.deep.equal([everything]);
    expect(triggersFor(topic, 'Encounter', 'delete')).to.deep.equal([everything]);
    expect(triggersFor(topic, 'Patient', 'create')).to.deep.equal([]);
    expect(triggersFor(topic, 'Patient', 'delete')).to.deep.equal([patientUpdates]);
    expect(triggersFor(topic, 'Observation', 'update')).to.deep.equal([]);
  });

  it('a create-only topic ignores updates and deletes; triggerFires is false for a trigger that does not apply', () => {
    const t = topicWith(createOnly);
    expect(topicFires('R4', t, inputFor('create'), fakeQuery())).to.equal(true);
    expect(topicFires('R4', t, inputFor('update'), fakeQuery())).to.equal(false);
    expect(topicFires('R4', t, inputFor('delete'), fakeQuery())).to.equal(false);
    expect(triggerFires('R4', createOnly, inputFor('update'), fakeQuery())).to.equal(false);
    expect(triggerFires('R4', patientUpdates, { ...inputFor('update') }, fakeQuery())).to.equal(false);
  });

  it('does not evaluate the criteria of interactions the trigger does not list', () => {
    const calls: QueryCall[] = [];
    const t = topicWith(trigger({ current: 'status=finished' }, undefined, ['create']));
    expect(topicFires('R4', t, inputFor('update'), fakeQuery(calls))).to.equal(false);
    expect(calls).to.deep.equal([]);
  });

  it('matches triggers whose resource was written relative or absolute (normalised when the topic was read)', () => {
    for (const resource of ['Encounter', 'http://hl7.org/fhir/StructureDefinition/Encounter']) {
      const parsed = parseTopic(
        {
          resourceType: 'SubscriptionTopic',
          url: 'http://example.org/t',
          status: 'active',
          resourceTrigger: [{ resource, supportedInteraction: ['update'], queryCriteria: { current: 'status=finished' } }],
        },
        { kind: 'config', file: 'x.json' },
      );
      expect(triggersFor(parsed, 'Encounter', 'update'), resource).to.have.length(1);
      expect(topicFires('R4', parsed, inputFor('update'), fakeQuery()), resource).to.equal(true);
    }
  });

  it('topicFires: true if any applicable trigger fires, else undecidable if any is, else false', () => {
    const yes = trigger({ current: 'status=finished' });
    const no = trigger({ current: 'status=arrived' });
    const unsure = trigger({ current: 'status:above=x' });
    const input = inputFor('update');
    expect(topicFires('R4', topicWith(no, yes), input, fakeQuery())).to.equal(true);
    expect(topicFires('R4', topicWith(unsure, yes), input, fakeQuery())).to.equal(true);
    expect(topicFires('R4', topicWith(no, unsure, no), input, fakeQuery())).to.equal(U);
    expect(topicFires('R4', topicWith(no, no), input, fakeQuery())).to.equal(false);
    expect(topicFires('R4', topicWith(), input, fakeQuery())).to.equal(false);
    // An undecidable trigger that does not apply to the change does not make the topic undecidable.
    expect(topicFires('R4', topicWith(no, { ...unsure, supportedInteraction: ['create'] }), input, fakeQuery())).to.equal(false);
  });

  it('topicFires stops at the first trigger that fires', () => {
    const calls: QueryCall[] = [];
    topicFires('R4', topicWith(trigger({ current: 'status=finished' }), trigger({ current: 'status=arrived' })), inputFor('update'), fakeQuery(calls));
    expect(calls.map((c) => c.query)).to.deep.equal(['status=finished']);
  });
});

describe('topics: needsPrevious', () => {
  it('is true when an update trigger for the type has a previous query or a FHIRPath that reads %previous', () => {
    expect(needsPrevious(topicWith(trigger({ previous: 'status:not=finished' })), 'Encounter')).to.equal(true);
    expect(needsPrevious(topicWith(trigger(undefined, "%previous.status != 'finished'")), 'Encounter')).to.equal(true);
    expect(needsPrevious(topicWith(trigger(undefined, "%`previous`.status != 'finished'")), 'Encounter')).to.equal(true);
    expect(needsPrevious(topicWith(trigger(undefined, "%'previous'.status != 'finished'")), 'Encounter')).to.equal(true);
    expect(needsPrevious(topicWith(trigger({ current: 'status=finished' }), trigger({ previous: 'status=planned' }, undefined, ['update'])), 'Encounter')).to.equal(true);
  });

  it('is false when no update trigger for the type reads the previous version', () => {
    expect(needsPrevious(topicWith(trigger()), 'Encounter')).to.equal(false);
    expect(needsPrevious(topicWith(trigger({ current: 'status=finished', resultForCreate: 'test-passes', requireBoth: true })), 'Encounter')).to.equal(false);
    expect(needsPrevious(topicWith(trigger(undefined, "%current.status = 'finished' and status = 'finished'")), 'Encounter')).to.equal(false);
    expect(needsPrevious(topicWith(trigger(undefined, '%previousVersion.exists()')), 'Encounter')).to.equal(false);
    expect(needsPrevious(topicWith(trigger({ previous: 'status=planned' }, undefined, ['create', 'delete'])), 'Encounter')).to.equal(false);
    expect(needsPrevious(topicWith(trigger({ previous: 'status=planned' })), 'Patient')).to.equal(false);
  });
});

describe('topics: implicitTopic', () => {
  it('is the criteria-less create/update topic of one type, under the implicit prefix', () => {
    const t = implicitTopic('Observation');
    expect(t.url).to.equal(`${IMPLICIT_TOPIC_PREFIX}Observation`);
    expect(t.source).to.deep.equal({ kind: 'implicit' });
    expect(t.status).to.equal('active');
    expect(t.resourceTrigger).to.deep.equal([{ resource: 'Observation', supportedInteraction: ['create', 'update'] }]);
    expect(t.canFilterBy).to.deep.equal([]);
    expect(t.id).to.match(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(implicitTopic('Observation').id).to.equal(t.id);
    expect(implicitTopic('MedicationRequest').id).to.not.equal(t.id);
  });

  it('fires on every create and update of its type, never on delete or on other types', () => {
    const t = implicitTopic('Encounter');
    const calls: QueryCall[] = [];
    expect(topicFires('R4', t, inputFor('create'), fakeQuery(calls))).to.equal(true);
    expect(topicFires('R4', t, { ...inputFor('update'), previous: undefined }, fakeQuery(calls))).to.equal(true);
    expect(topicFires('R4', t, inputFor('delete'), fakeQuery(calls))).to.equal(false);
    const observation: FhirResource = { resourceType: 'Observation', status: 'final' };
    expect(topicFires('R4', t, { interaction: 'create', resourceType: 'Observation', current: observation }, fakeQuery(calls))).to.equal(false);
    expect(needsPrevious(t, 'Encounter')).to.equal(false);
    expect(calls).to.deep.equal([]);
  });
});
