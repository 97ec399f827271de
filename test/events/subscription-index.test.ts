import { expect } from 'chai';
import { evaluateFilter } from '../../src/fhir/search-eval/index.js';
import { SubscriptionIndex } from '../../src/events/subscription-index.js';
import type { ActiveSubscription } from '../../src/subscriptions/registry.js';
import type { FhirResource } from '../../src/events/event.js';

const sub = (id: string, value: string, extra: Partial<ActiveSubscription> = {}): ActiveSubscription => ({
  id,
  status: 'active',
  topic: 't',
  filters: [{ resourceType: 'Encounter', parameter: 'patient', value }],
  channelType: 'websocket',
  content: 'id-only',
  contentType: 'application/fhir+json',
  notificationVersion: 'R4',
  ...extra,
});

const encounter = (subject: Record<string, unknown>): FhirResource => ({ resourceType: 'Encounter', id: 'e1', status: 'in-progress', subject });

describe('subscription index', () => {
  it('gives only the subscriptions whose equality filter the resource can satisfy, plus unfiltered ones', () => {
    const index = new SubscriptionIndex('R4');
    index.add(sub('a', 'Patient/1'), ['Encounter']);
    index.add(sub('b', 'Patient/2'), ['Encounter']);
    index.add(sub('c', 'Patient/1,Patient/3'), ['Encounter']);
    index.add(sub('open', '', { filters: [] }), ['Encounter']);
    expect([...index.candidates('t', 'Encounter', encounter({ reference: 'Patient/1' }))].sort()).to.deep.equal(['a', 'c', 'open']);
    expect([...index.candidates('t', 'Encounter', encounter({ reference: 'http://other.example/fhir/Patient/3' }))].sort()).to.deep.equal(['c', 'open']);
    expect([...index.candidates('t', 'Observation', encounter({ reference: 'Patient/1' }))]).to.deep.equal([]);
  });

  it('never misses a subscription when the resource cannot be keyed: every indexed one is a candidate', () => {
    const index = new SubscriptionIndex('R4');
    index.add(sub('a', 'Patient/1'), ['Encounter']);
    index.add(sub('b', 'Patient/2'), ['Encounter']);
    const unkeyable = encounter({ reference: 'urn:uuid:5d1b6a58-4a6b-4d1e-9b9a-3a8c2e0b1f00' });
    const candidates = index.candidates('t', 'Encounter', unkeyable);
    expect([...candidates].sort()).to.deep.equal(['a', 'b']);
    // and the evaluator, not the index, has the last word on each of them
    for (const id of ['a', 'b']) expect(evaluateFilter('R4', unkeyable, { resourceType: 'Encounter', parameter: 'patient', value: id === 'a' ? 'Patient/1' : 'Patient/2' })).not.to.equal(true);
  });

  it('forgets a removed subscription', () => {
    const index = new SubscriptionIndex('R4');
    index.add(sub('a', 'Patient/1'), ['Encounter']);
    index.remove('a');
    expect(index.has('t', 'Encounter')).to.equal(false);
    expect([...index.candidates('t', 'Encounter', encounter({ reference: 'Patient/1' }))]).to.deep.equal([]);
  });
});
