import { expect } from 'chai';
import { searchTopics, TopicSearchError } from '../../src/topics/search.js';
import type { ResourceTrigger, Topic } from '../../src/topics/topic.js';

function topic(id: string, fields: Partial<Topic> & { triggers?: Partial<ResourceTrigger>[] }): Topic {
  const { triggers = [{}], ...rest } = fields;
  return {
    url: `http://example.org/SubscriptionTopic/${id}`,
    status: 'active',
    derivedFrom: [],
    resourceTrigger: triggers.map((t) => ({ resource: 'Encounter', supportedInteraction: [], ...t })),
    canFilterBy: [],
    notificationShape: [],
    source: { kind: 'config', file: `${id}.json` },
    id,
    ...rest,
  };
}

const TOPICS: Topic[] = [
  topic('admission', { version: '1.0.0', title: 'Encounter admission', triggers: [{ description: 'An Encounter becomes in-progress' }] }),
  topic('admission-v2', { url: 'http://example.org/SubscriptionTopic/admission', version: '2.0.0', title: 'Encounter admission', status: 'draft' }),
  topic('discharge', {
    title: 'Encounter Discharge',
    derivedFrom: ['http://example.org/SubscriptionTopic/admission|1.0.0', 'http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete'],
    triggers: [{ description: 'An Encounter is finished' }],
  }),
  topic('record', {
    title: 'Patient record change, incl. café notes',
    status: 'retired',
    triggers: [
      { resource: 'Patient', description: 'Patient demographics change' },
      { resource: 'Observation', description: 'A result is recorded' },
    ],
  }),
];

const ids = (query: string) => searchTopics(TOPICS, new URLSearchParams(query)).map((t) => t.id);

function error(query: string): TopicSearchError {
  try {
    searchTopics(TOPICS, new URLSearchParams(query));
  } catch (err) {
    expect(err).to.be.instanceOf(TopicSearchError);
    return err as TopicSearchError;
  }
  throw new Error('expected TopicSearchError');
}

describe('topics: search', () => {
  it('returns everything without parameters', () => {
    expect(ids('')).to.deep.equal(['admission', 'admission-v2', 'discharge', 'record']);
  });

  it('url: exact match, with |version narrowing to one version', () => {
    expect(ids('url=http://example.org/SubscriptionTopic/admission')).to.deep.equal(['admission', 'admission-v2']);
    expect(ids('url=http://example.org/SubscriptionTopic/admission|2.0.0')).to.deep.equal(['admission-v2']);
    expect(ids('url=http://example.org/SubscriptionTopic/admission|3')).to.deep.equal([]);
    expect(ids('url=http://example.org/SubscriptionTopic/admiss')).to.deep.equal([]);
  });

  it('derived-or-self: the url itself or any derivedFrom', () => {
    expect(ids('derived-or-self=http://example.org/SubscriptionTopic/admission')).to.deep.equal(['admission', 'admission-v2', 'discharge']);
    expect(ids('derived-or-self=http://example.org/SubscriptionTopic/admission|2.0.0')).to.deep.equal(['admission-v2']);
    expect(ids('derived-or-self=http://hl7.org/fhir/uv/subscriptions-backport/SubscriptionTopic/encounter-complete')).to.deep.equal(['discharge']);
  });

  it('resource: relative or absolute, any trigger', () => {
    expect(ids('resource=Observation')).to.deep.equal(['record']);
    expect(ids('resource=http://hl7.org/fhir/StructureDefinition/Patient')).to.deep.equal(['record']);
    expect(ids('resource=Condition')).to.deep.equal([]);
  });

  it('title: case- and accent-insensitive starts-with; :contains; :exact', () => {
    expect(ids('title=encounter')).to.deep.equal(['admission', 'admission-v2', 'discharge']);
    expect(ids('title=ENCOUNTER%20D')).to.deep.equal(['discharge']);
    expect(ids('title=admission')).to.deep.equal([]);
    expect(ids('title:contains=admission')).to.deep.equal(['admission', 'admission-v2']);
    expect(ids('title:contains=CAFE')).to.deep.equal(['record']);
    expect(ids('title:exact=Encounter discharge')).to.deep.equal([]);
    expect(ids('title:exact=Encounter Discharge')).to.deep.equal(['discharge']);
    expect(ids('title:missing=true')).to.deep.equal([]);
  });

  it('trigger-description: string search over every trigger', () => {
    expect(ids('trigger-description=a result')).to.deep.equal(['record']);
    expect(ids('trigger-description:contains=encounter')).to.deep.equal(['admission', 'discharge']);
    expect(ids('trigger-description:missing=true')).to.deep.equal(['admission-v2']);
  });

  it('status, _id and version tokens', () => {
    expect(ids('status=draft,retired')).to.deep.equal(['admission-v2', 'record']);
    expect(ids('status=http://hl7.org/fhir/publication-status|active')).to.deep.equal(['admission', 'discharge']);
    expect(ids('status=http://example.org|active')).to.deep.equal([]);
    expect(ids('status:not=active')).to.deep.equal(['admission-v2', 'record']);
    expect(ids('_id=discharge,record')).to.deep.equal(['discharge', 'record']);
    expect(ids('version=2.0.0')).to.deep.equal(['admission-v2']);
    expect(ids('version:missing=true')).to.deep.equal(['discharge', 'record']);
  });

  it('ORs comma-separated values and ANDs parameters (also a repeated parameter)', () => {
    expect(ids('resource=Patient,Encounter&status=active')).to.deep.equal(['admission', 'discharge']);
    expect(ids('title=encounter&title=encounter%20a')).to.deep.equal(['admission', 'admission-v2']);
    expect(ids('_id=a\\,b')).to.deep.equal([]);
  });

  it('ignores result-shaping parameters and empty values', () => {
    expect(ids('_count=1&_format=json&_summary=true&_elements=url&title=')).to.have.length(4);
  });

  it('rejects unknown parameters and modifiers so the caller can answer 400', () => {
    const unknown = error('event=A01');
    expect(unknown.parameter).to.equal('event');
    expect(unknown.message).to.match(/"event" is not supported.*url, derived-or-self/);
    expect(error('url:below=http://example.org').message).to.match(/:below is not supported/);
    expect(error('title:text=x').message).to.match(/:text/);
    expect(error('version:missing=maybe').message).to.match(/true or false/);
  });
});
