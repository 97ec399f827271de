import { expect } from 'chai';
import { parseTopic } from '../../src/topics/parse.js';
import { renderBasicTopic, renderTopic } from '../../src/topics/render.js';
import type { Topic, TopicSource } from '../../src/topics/topic.js';
import { BASIC_FORMS, basicTopic, r4bTopic, r5Topic } from './fixtures.js';

const SOURCE: TopicSource = { kind: 'config', file: 'config/topics/encounter-complete.json' };

describe('topics: render', () => {
  it('round-trips through R5 JSON: parse(render(t)) equals t', () => {
    const topic = parseTopic(r5Topic(), SOURCE);
    const json = renderTopic(topic, 'R5');
    expect(json.resourceType).to.equal('SubscriptionTopic');
    expect(json.name).to.equal('EncounterComplete');
    expect(json.canFilterBy![1]).to.deep.include({ comparator: ['gt', 'lt', 'ge', 'le'] });
    expect(parseTopic(JSON.parse(JSON.stringify(json)), SOURCE)).to.deep.equal(topic);
  });

  it('round-trips through R4B JSON: no name, comparators back among the modifiers', () => {
    const topic = parseTopic(r4bTopic(), SOURCE);
    const json = renderTopic(topic, 'R4B');
    expect(json).not.to.have.property('name');
    expect(json.canFilterBy![1]).to.deep.equal({ description: 'Filter on the length.', resource: 'Encounter', filterParameter: 'length', modifier: ['gt', 'lt', 'ge', 'le'] });
    expect(json.canFilterBy![1]).not.to.have.property('comparator');
    expect(parseTopic(JSON.parse(JSON.stringify(json)), SOURCE)).to.deep.equal(topic);
  });

  it('leaves modifiers outside the R4B binding out of R4B output', () => {
    const topic = parseTopic(r5Topic(), SOURCE);
    expect(renderTopic(topic, 'R4B').canFilterBy![2]!.modifier).to.deep.equal(['in']);
  });

  it('renders the elements clients read and no empty arrays', () => {
    const topic: Topic = {
      url: 'http://example.org/t',
      status: 'draft',
      derivedFrom: [],
      resourceTrigger: [{ resource: 'Patient', supportedInteraction: [] }],
      canFilterBy: [],
      notificationShape: [],
      source: SOURCE,
      id: 't',
    };
    expect(renderTopic(topic, 'R5')).to.deep.equal({ resourceType: 'SubscriptionTopic', id: 't', url: 'http://example.org/t', status: 'draft', resourceTrigger: [{ resource: 'Patient' }] });
    const full = renderTopic(parseTopic(r5Topic(), SOURCE), 'R5');
    expect(Object.keys(full)).to.include.members(['id', 'url', 'version', 'title', 'status', 'date', 'description', 'derivedFrom', 'resourceTrigger', 'canFilterBy', 'notificationShape']);
  });

  it('renders for R4 clients as a Basic that reads back as the same topic', () => {
    const topic = parseTopic(r5Topic(), SOURCE);
    const basic = renderTopic(topic, 'R4');
    expect(basic).to.deep.equal(renderBasicTopic(topic));
    expect(basic.resourceType).to.equal('Basic');
    expect(basic.code.coding).to.deep.equal([{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }]);
    expect(basic.meta.profile).to.deep.equal(['http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic']);
    expect(basic.extension[0]).to.deep.equal({ url: 'http://hl7.org/fhir/StructureDefinition/artifact-url', valueUri: topic.url });
    expect(basic.modifierExtension).to.have.length(1);
    expect(parseTopic(JSON.parse(JSON.stringify(basic)), SOURCE)).to.deep.equal(topic);
  });

  it('turns every Basic form into the one R5 rendering', () => {
    const rendered = Object.values(BASIC_FORMS).map((form) => renderTopic(parseTopic(basicTopic(form), SOURCE), 'R5'));
    expect(rendered[1]).to.deep.equal(rendered[0]);
    expect(rendered[2]).to.deep.equal(rendered[0]);
    expect(rendered[0]).to.deep.equal(renderTopic(parseTopic(r5Topic(), SOURCE), 'R5'));
  });
});
