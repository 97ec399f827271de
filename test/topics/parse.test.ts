import { expect } from 'chai';
import { parseTopic, readTopic, TopicInvalid } from '../../src/topics/parse.js';
import type { Topic, TopicSource } from '../../src/topics/topic.js';
import { BASIC_FORMS, basicTopic, ENCOUNTER_COMPLETE, FHIRPATH, r4bTopic, r5Topic } from './fixtures.js';

const SOURCE: TopicSource = { kind: 'upstream', reference: 'SubscriptionTopic/encounter-complete' };

function expected(source: TopicSource = SOURCE): Topic {
  return {
    url: ENCOUNTER_COMPLETE,
    version: '1.2.0',
    name: 'EncounterComplete',
    title: 'Encounter complete',
    status: 'active',
    date: '2024-03-01',
    description: 'An Encounter is finished.',
    derivedFrom: ['http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete|1.0.0'],
    resourceTrigger: [
      {
        description: 'Triggered when an encounter is completed.',
        resource: 'Encounter',
        supportedInteraction: ['create', 'update'],
        queryCriteria: { previous: 'status:not=finished', resultForCreate: 'test-passes', current: 'status=finished', resultForDelete: 'test-fails', requireBoth: true },
        fhirPathCriteria: FHIRPATH,
      },
    ],
    canFilterBy: [
      {
        description: 'Filter on the patient.',
        resource: 'Encounter',
        filterParameter: 'patient',
        filterDefinition: 'http://hl7.org/fhir/SearchParameter/clinical-patient',
        comparator: [],
        modifier: [],
      },
      { description: 'Filter on the length.', resource: 'Encounter', filterParameter: 'length', comparator: ['gt', 'lt', 'ge', 'le'], modifier: [] },
      { resource: 'Encounter', filterParameter: 'class', comparator: [], modifier: ['not', 'in'] },
    ],
    notificationShape: [{ resource: 'Encounter', include: ['Encounter:patient&iterate=Patient.link', 'Encounter:location'], revInclude: ['Encounter:subject'] }],
    source,
    id: 'encounter-complete',
  };
}

function invalid(json: unknown): string {
  try {
    parseTopic(json, SOURCE);
  } catch (err) {
    expect(err).to.be.instanceOf(TopicInvalid);
    return (err as Error).message;
  }
  throw new Error('expected TopicInvalid');
}

describe('topics: parse', () => {
  it('reads an R5 SubscriptionTopic, normalising absolute resource URIs to type names', () => {
    const { topic, warnings } = readTopic(r5Topic(), SOURCE);
    expect(topic).to.deep.equal(expected());
    expect(warnings).to.deep.equal([]);
  });

  it('reads an R4B SubscriptionTopic: comparators move out of modifier, `=` is dropped', () => {
    const want = expected();
    delete want.name;
    want.canFilterBy[2]!.modifier = ['in'];
    expect(parseTopic(r4bTopic(), SOURCE)).to.deep.equal(want);
  });

  for (const [name, form] of Object.entries(BASIC_FORMS)) {
    it(`reads an R4 ${name}`, () => {
      const source: TopicSource = { kind: 'upstream', reference: 'Basic/encounter-complete' };
      const { topic, warnings } = readTopic(basicTopic(form), source);
      expect(topic).to.deep.equal(expected(source));
      expect(warnings).to.deep.equal([]);
    });
  }

  it('accepts the 5.0 status extension outside modifierExtension and artifact-url over the 5.0 url', () => {
    const basic = basicTopic(BASIC_FORMS['Basic, 5.0 prefix (fhir-candle)']);
    const status = (basic.modifierExtension as object[])[0]!;
    delete basic.modifierExtension;
    (basic.extension as object[]).push(status, { url: 'http://hl7.org/fhir/StructureDefinition/artifact-url', valueUri: 'http://example.org/other' });
    const topic = parseTopic(basic, SOURCE);
    expect(topic.status).to.equal('active');
    expect(topic.url).to.equal('http://example.org/other');
  });

  it('tells a Basic that is not a topic apart', () => {
    expect(invalid({ resourceType: 'Basic', code: { coding: [{ system: 'http://example.org', code: 'x' }] } })).to.match(/not a SubscriptionTopic/);
    expect(invalid({ resourceType: 'Patient' })).to.match(/resourceType "Patient"/);
    expect(invalid('nope')).to.match(/JSON object/);
  });

  it('rejects a topic with only event triggers, naming why', () => {
    const t = r5Topic();
    delete t.resourceTrigger;
    t.eventTrigger = [{ event: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0003', code: 'A01' }] }, resource: 'Encounter' }];
    expect(invalid(t)).to.match(/only eventTrigger.*evaluates resource triggers/);
    const basic = basicTopic(BASIC_FORMS['Basic, 5.0 prefix (fhir-candle)']);
    basic.extension = (basic.extension as { url: string }[])
      .filter((e) => !e.url.endsWith('.resourceTrigger'))
      .concat({ url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.eventTrigger' });
    expect(invalid(basic)).to.match(/Basic-wrapped SubscriptionTopic .* has only eventTrigger/);
  });

  it('rejects a topic with no trigger at all, or without a url', () => {
    const none = r5Topic();
    delete none.resourceTrigger;
    expect(invalid(none)).to.match(/no resourceTrigger/);
    const urlless = r5Topic();
    delete urlless.url;
    expect(invalid(urlless)).to.match(/SubscriptionTopic\.url is required/);
    const basic = basicTopic(BASIC_FORMS['Basic, 4.3 prefix for the complex parts (1.2.0-ballot)']);
    basic.extension = (basic.extension as { url: string }[]).filter((e) => !e.url.endsWith('.url'));
    expect(invalid(basic)).to.match(/url is required/);
  });

  it('rejects a resource trigger without a resource, or with one that is not a resource type', () => {
    const t = r5Topic();
    t.resourceTrigger = [{ supportedInteraction: ['create'] }];
    expect(invalid(t)).to.match(/resourceTrigger\[0\]\.resource is required/);
    t.resourceTrigger = [{ resource: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter' }];
    expect(invalid(t)).to.match(/is not a FHIR resource type/);
  });

  it('keeps the resource triggers of a mixed topic and warns about the event triggers', () => {
    const t = r5Topic();
    t.eventTrigger = [{ event: { text: 'admit' }, resource: 'Encounter' }];
    const { topic, warnings } = readTopic(t, SOURCE);
    expect(topic.resourceTrigger).to.have.length(1);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/1 eventTrigger.*ignored/);
  });

  it('rejects values of the wrong type or code with the element path', () => {
    const t = r5Topic();
    (t.resourceTrigger as Record<string, unknown>[])[0]!.supportedInteraction = ['create', 'read'];
    expect(invalid(t)).to.match(/resourceTrigger\[0\]\.supportedInteraction\[1\] must be one of create, update, delete/);
    const u = r5Topic();
    u.status = 'final';
    expect(invalid(u)).to.match(/SubscriptionTopic\.status must be one of/);
    const w = r5Topic();
    w.url = 42;
    expect(invalid(w)).to.match(/url must be a string/);
    const q = r5Topic();
    (q.resourceTrigger as Record<string, unknown>[])[0]!.queryCriteria = { current: 'status=finished', requireBoth: 'yes' };
    expect(invalid(q)).to.match(/requireBoth must be true or false/);
  });

  it('strips a Type? prefix from query criteria, and rejects one for another type', () => {
    const t = r5Topic();
    const trigger = (t.resourceTrigger as Record<string, unknown>[])[0]!;
    trigger.queryCriteria = { previous: 'Encounter?status:not=finished', current: '?status=finished' };
    expect(parseTopic(t, SOURCE).resourceTrigger[0]!.queryCriteria).to.deep.equal({ previous: 'status:not=finished', current: 'status=finished' });
    trigger.queryCriteria = { current: 'Patient?active=true' };
    expect(invalid(t)).to.match(/searches Patient, not the trigger's resource Encounter/);
  });

  it('ignores unusable filters and shapes with warnings rather than widening them', () => {
    const t = r5Topic();
    t.canFilterBy = [
      { resource: 'Encounter', description: 'no parameter' },
      { resource: 'http://example.org/StructureDefinition/custom', filterParameter: 'x' },
      { filterParameter: 'identifier', comparator: ['eq', 'bogus'] },
    ];
    t.notificationShape = [{ include: ['Encounter:patient'] }];
    const { topic, warnings } = readTopic(t, SOURCE);
    expect(topic.canFilterBy).to.deep.equal([{ filterParameter: 'identifier', comparator: ['eq'], modifier: [] }]);
    expect(topic.notificationShape).to.deep.equal([]);
    expect(warnings).to.have.length(4);
  });

  it('derives a stable id from url and version when the resource has none', () => {
    const t = r5Topic();
    delete t.id;
    const a = parseTopic(t, SOURCE).id;
    expect(a).to.match(/^encounter-complete-[0-9a-f]{12}$/);
    expect(parseTopic(t, SOURCE).id).to.equal(a);
    t.version = '2.0.0';
    expect(parseTopic(t, SOURCE).id).not.to.equal(a);
  });

  it('reads a missing status as unknown, with a warning', () => {
    const t = r5Topic();
    delete t.status;
    const { topic, warnings } = readTopic(t, SOURCE);
    expect(topic.status).to.equal('unknown');
    expect(warnings[0]).to.match(/status is missing/);
  });

  it('refuses a topic whose modifier extensions it does not understand', () => {
    const t = r5Topic();
    t.modifierExtension = [{ url: 'http://example.org/changes-everything', valueBoolean: true }];
    expect(invalid(t)).to.match(/changes-everything is not understood/);
    const b = basicTopic(BASIC_FORMS['Basic, 5.0 prefix (fhir-candle)']);
    (b.modifierExtension as object[]).push({ url: 'http://example.org/changes-everything', valueBoolean: true });
    expect(invalid(b)).to.match(/changes-everything is not understood/);
  });
});
