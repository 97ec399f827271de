import { expect } from 'chai';
import { classifyBasicSearch } from '../../src/topics/basic-search.js';

const kind = (q: string) => classifyBasicSearch(q).kind;

describe('topics: which Basic searches are topic discovery', () => {
  it('takes the fhir-types|SubscriptionTopic code, with or without its system, as topic discovery', () => {
    expect(kind('code=http://hl7.org/fhir/fhir-types|SubscriptionTopic')).to.equal('topics');
    expect(kind('code=http%3A%2F%2Fhl7.org%2Ffhir%2Ffhir-types%7CSubscriptionTopic')).to.equal('topics');
    expect(kind('code=SubscriptionTopic')).to.equal('topics');
    expect(kind('code=SubscriptionTopic&code=http://hl7.org/fhir/fhir-types|SubscriptionTopic')).to.equal('topics');
  });

  it('keeps the other parameters for the topic search, without code', () => {
    const found = classifyBasicSearch('code=SubscriptionTopic&url=http://x/t&_count=2');
    expect(found.kind === 'topics' && [...found.rest]).to.deep.equal([
      ['url', 'http://x/t'],
      ['_count', '2'],
    ]);
  });

  it('leaves other codes, other systems, code modifiers and code-less searches to the upstream', () => {
    expect(kind('code=http://example.org|note')).to.equal('upstream');
    expect(kind('code=http://example.org|SubscriptionTopic')).to.equal('upstream');
    expect(kind('code=|SubscriptionTopic')).to.equal('upstream');
    expect(kind('code:not=http://hl7.org/fhir/fhir-types|SubscriptionTopic')).to.equal('upstream');
    expect(kind('subject=Patient/1')).to.equal('upstream');
    expect(kind('')).to.equal('upstream');
  });

  it('refuses a code list mixing the topic type with other codes, naming them', () => {
    const found = classifyBasicSearch('code=SubscriptionTopic,http://example.org|note');
    expect(found.kind).to.equal('mixed');
    expect(found.kind === 'mixed' && found.message).to.match(/http:\/\/example\.org\|note.*search for them separately/);
  });
});
