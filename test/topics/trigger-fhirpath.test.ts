import { expect } from 'chai';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FhirVersion } from '../../src/config.js';
import type { FhirResource } from '../../src/events/event.js';
import { loadTopicDir } from '../../src/topics/load.js';
import { needsPrevious, topicFires, triggerFires, type TriggerInput } from '../../src/topics/trigger.js';
import type { Interaction, QueryCriteria, ResourceTrigger, Topic } from '../../src/topics/topic.js';
import { recorder } from './fixtures.js';
import { deepFreeze, encounter, fakeQuery } from './trigger-support.js';

const U = 'undecidable' as const;
const IG_EXAMPLE = "(%previous.id.empty() or (%previous.status != 'finished')) and (%current.status = 'finished')";

const pathTrigger = (fhirPathCriteria: string, resource = 'Encounter', queryCriteria?: QueryCriteria): ResourceTrigger => ({
  resource,
  supportedInteraction: [],
  fhirPathCriteria,
  ...(queryCriteria && { queryCriteria }),
});

const create = (current: FhirResource): TriggerInput => ({ interaction: 'create', resourceType: current.resourceType, current });
const update = (previous: FhirResource | undefined, current: FhirResource): TriggerInput => ({ interaction: 'update', resourceType: current.resourceType, previous, current });
const del = (previous: FhirResource | undefined, resourceType = 'Encounter'): TriggerInput => ({ interaction: 'delete', resourceType, previous });

const fires = (expression: string, input: TriggerInput, version: FhirVersion = 'R4') => triggerFires(version, pathTrigger(expression, input.resourceType), input, fakeQuery());

const observation = (value: Record<string, unknown>): FhirResource => ({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'weight' }, ...value });

describe('topics: trigger fhirPathCriteria', () => {
  it('runs the IG example: fires on entering finished, by create or by update, and not when already finished', () => {
    for (const version of ['R4', 'R4B', 'R5'] as const) {
      expect(fires(IG_EXAMPLE, create(encounter('finished')), version), version).to.equal(true);
      expect(fires(IG_EXAMPLE, create(encounter('in-progress')), version), version).to.equal(false);
      expect(fires(IG_EXAMPLE, update(encounter('in-progress'), encounter('finished')), version), version).to.equal(true);
      expect(fires(IG_EXAMPLE, update(encounter('finished'), encounter('finished')), version), version).to.equal(false);
      expect(fires(IG_EXAMPLE, update(encounter('planned'), encounter('in-progress')), version), version).to.equal(false);
      // %current is {} on delete, so "is finished now" cannot hold.
      expect(fires(IG_EXAMPLE, del(encounter('finished')), version), version).to.equal(false);
    }
  });

  it('sets %previous to {} on create and %current to {} on delete, whatever else the caller passed', () => {
    const stray = { previous: encounter('planned'), current: encounter('finished') };
    expect(fires("%previous.id.empty() and %current.id = 'e1'", { interaction: 'create', resourceType: 'Encounter', ...stray })).to.equal(true);
    expect(fires("%current.id.empty() and %previous.id = 'e1'", { interaction: 'delete', resourceType: 'Encounter', ...stray })).to.equal(true);
    expect(fires("%previous.status = 'planned' and %current.status = 'finished'", update(encounter('planned'), encounter('finished')))).to.equal(true);
  });

  it('evaluates bare paths on the current version, or on the deleted one for a delete', () => {
    expect(fires("status = 'finished'", create(encounter('finished')))).to.equal(true);
    expect(fires("status = 'finished'", update(encounter('planned'), encounter('finished')))).to.equal(true);
    expect(fires("status = 'planned'", update(encounter('planned'), encounter('finished')))).to.equal(false);
    expect(fires("status = 'planned'", del(encounter('planned')))).to.equal(true);
    expect(fires("%resource.id = 'x' and %rootResource.id = 'x' and %context.id = 'x'", create(encounter('finished', 'x')))).to.equal(true);
    expect(fires("%resource.id = 'x' and %context.id = 'x'", del(encounter('finished', 'x')))).to.equal(true);
  });

  it("resolves choice types with the model of the FHIR version (R4 and R4B share R4's)", () => {
    const over5 = '%current.value.ofType(Quantity).value > 5';
    for (const version of ['R4', 'R4B', 'R5'] as const) {
      expect(fires(over5, create(observation({ valueQuantity: { value: 7, unit: 'kg' } })), version), version).to.equal(true);
      expect(fires(over5, create(observation({ valueQuantity: { value: 3, unit: 'kg' } })), version), version).to.equal(false);
      expect(fires(over5, create(observation({ valueString: '7' })), version), version).to.equal(false);
      expect(fires('value.ofType(Quantity).value > 5', update(observation({ valueQuantity: { value: 1 } }), observation({ valueQuantity: { value: 9 } })), version), version).to.equal(true);
      expect(
        fires(
          '%previous.value.ofType(Quantity).value < 5 and %current.value.ofType(Quantity).value > 5',
          update(observation({ valueQuantity: { value: 1 } }), observation({ valueQuantity: { value: 9 } })),
          version,
        ),
        version,
      ).to.equal(true);
    }
    // Observation.value[x] gained Attachment in R5: only the R5 model sees it.
    const attached = create(observation({ valueAttachment: { url: 'http://example.org/scan.pdf' } }));
    expect(fires('%current.value.ofType(Attachment).exists()', attached, 'R5')).to.equal(true);
    expect(fires('%current.value.ofType(Attachment).exists()', attached, 'R4')).to.equal(false);
  });

  it('fires only on exactly [true]', () => {
    const two = { ...encounter('finished'), identifier: [{ value: 'a' }, { value: 'b' }] };
    expect(fires('%current.identifier.select(true)', create(two))).to.equal(false);
    expect(fires("'yes'", create(two))).to.equal(false);
    expect(fires('%current.reasonCode.exists()', create(two))).to.equal(false);
    expect(fires('%current.reasonCode', create(two))).to.equal(false);
    expect(fires('false', create(two))).to.equal(false);
    expect(fires('true', create(two))).to.equal(true);
  });

  it('is undecidable when the expression cannot be parsed or evaluated', () => {
    const input = update(encounter('planned'), { ...encounter('finished'), subject: { reference: 'Patient/1' }, identifier: [{ value: 'a' }, { value: 'b' }] });
    for (const expression of [
      "%current.status = 'finished' and (",
      '%current.status + 1',
      '%nope.exists()',
      '%current.subject.resolve().exists()',
      "%current.class.memberOf('http://example.org/ValueSet/x')",
      "%current.identifier.value.single() = 'a'",
    ]) {
      expect(fires(expression, input), expression).to.equal(U);
      // The compiled (or failed) expression is cached; a second evaluation answers the same.
      expect(fires(expression, input), `${expression} (again)`).to.equal(U);
    }
  });

  it('is undecidable for an update whose previous version is missing only if the expression reads %previous', () => {
    expect(fires(IG_EXAMPLE, update(undefined, encounter('finished')))).to.equal(U);
    expect(fires("%current.status = 'finished'", update(undefined, encounter('finished')))).to.equal(true);
    expect(fires("%current.status = 'planned'", update(undefined, encounter('finished')))).to.equal(false);
  });

  it('is undecidable without the version it starts from', () => {
    expect(fires("%current.status = 'finished'", { interaction: 'create', resourceType: 'Encounter' })).to.equal(U);
    expect(fires("%current.status = 'finished'", { interaction: 'update', resourceType: 'Encounter', previous: encounter('planned') })).to.equal(U);
    expect(fires("%previous.status = 'finished'", del(undefined))).to.equal(U);
  });

  it('leaves the resources untouched', () => {
    const previous = deepFreeze(observation({ valueQuantity: { value: 1, unit: 'kg' }, component: [{ code: { text: 'c' }, valueString: 'x' }] }));
    const current = deepFreeze(observation({ valueQuantity: { value: 9, unit: 'kg' }, component: [{ code: { text: 'c' }, valueString: 'y' }] }));
    const expression = "%previous.value.ofType(Quantity).value < 5 and value.ofType(Quantity).value > 5 and %current.component.value.ofType(string) = 'y'";
    expect(fires(expression, update(previous, current), 'R5')).to.equal(true);
    expect(fires(expression, update(previous, current), 'R4')).to.equal(true);
  });

  it('needs both queryCriteria and fhirPathCriteria to pass when a trigger has both', () => {
    const input = update(encounter('in-progress'), encounter('finished'));
    const both = (query: string, expression: string) => triggerFires('R4', pathTrigger(expression, 'Encounter', { current: query }), input, fakeQuery());
    expect(both('status=finished', IG_EXAMPLE)).to.equal(true);
    expect(both('status=finished', 'false')).to.equal(false);
    expect(both('status=arrived', IG_EXAMPLE)).to.equal(false);
    expect(both('status=arrived', '%nope')).to.equal(false);
    expect(both('status:above=x', 'false')).to.equal(false);
    expect(both('status:above=x', IG_EXAMPLE)).to.equal(U);
    expect(both('status=finished', '%nope')).to.equal(U);
    expect(both('status:above=x', '%nope')).to.equal(U);
  });
});

describe('topics: triggers of the shipped config/topics', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '../../config/topics');
  let topics: Topic[];
  before(() => {
    topics = loadTopicDir(dir, recorder().logger);
  });
  const byId = (id: string): Topic => {
    const topic = topics.find((t) => t.id === id);
    if (!topic) throw new Error(`no topic ${id} in ${dir}`);
    return topic;
  };
  const on = (id: string, version: FhirVersion, input: TriggerInput) => topicFires(version, byId(id), input, fakeQuery());
  const change = (interaction: Interaction, previous?: string, current?: string): TriggerInput => ({
    interaction,
    resourceType: 'Encounter',
    ...(previous !== undefined && { previous: encounter(previous) }),
    ...(current !== undefined && { current: encounter(current) }),
  });

  it('encounter-admission fires on entering in-progress by create or update, not on staying in progress', () => {
    for (const version of ['R4', 'R4B', 'R5'] as const) {
      expect(on('encounter-admission', version, change('create', undefined, 'in-progress')), version).to.equal(true);
      expect(on('encounter-admission', version, change('create', undefined, 'planned')), version).to.equal(false);
      expect(on('encounter-admission', version, change('update', 'planned', 'in-progress')), version).to.equal(true);
      expect(on('encounter-admission', version, change('update', 'arrived', 'in-progress')), version).to.equal(true);
      expect(on('encounter-admission', version, change('update', 'in-progress', 'in-progress')), version).to.equal(false);
      expect(on('encounter-admission', version, change('update', 'in-progress', 'finished')), version).to.equal(false);
      expect(on('encounter-admission', version, change('delete', 'in-progress')), version).to.equal(false);
    }
    expect(on('encounter-admission', 'R4', change('update', undefined, 'in-progress'))).to.equal(U);
    expect(needsPrevious(byId('encounter-admission'), 'Encounter')).to.equal(true);
  });

  it('encounter-discharge fires on entering finished (R4/R4B) or completed (R5), not on staying there', () => {
    expect(on('encounter-discharge', 'R4', change('update', 'in-progress', 'finished'))).to.equal(true);
    expect(on('encounter-discharge', 'R4B', change('update', 'in-progress', 'finished'))).to.equal(true);
    expect(on('encounter-discharge', 'R5', change('update', 'in-progress', 'completed'))).to.equal(true);
    expect(on('encounter-discharge', 'R4', change('create', undefined, 'finished'))).to.equal(true);
    expect(on('encounter-discharge', 'R4', change('update', 'finished', 'finished'))).to.equal(false);
    expect(on('encounter-discharge', 'R5', change('update', 'completed', 'completed'))).to.equal(false);
    expect(on('encounter-discharge', 'R4', change('update', 'planned', 'in-progress'))).to.equal(false);
    expect(on('encounter-discharge', 'R4', change('delete', 'finished'))).to.equal(false);
    expect(on('encounter-discharge', 'R4', change('update', undefined, 'finished'))).to.equal(U);
    expect(needsPrevious(byId('encounter-discharge'), 'Encounter')).to.equal(true);
  });

  it('patient-record-change fires on every interaction of its types without reading the previous version', () => {
    const topic = byId('patient-record-change');
    const obs = observation({});
    expect(topicFires('R4', topic, create(obs), fakeQuery())).to.equal(true);
    expect(topicFires('R4', topic, update(undefined, obs), fakeQuery())).to.equal(true);
    expect(topicFires('R4', topic, del(obs, 'Observation'), fakeQuery())).to.equal(true);
    expect(topicFires('R4', topic, create({ resourceType: 'Practitioner', id: 'p' }), fakeQuery())).to.equal(false);
    expect(needsPrevious(topic, 'Observation')).to.equal(false);
  });
});
