import { expect } from 'chai';
import { TopicRegistry } from '../../src/topics/registry.js';
import type { Topic, TopicSource } from '../../src/topics/topic.js';
import { recorder } from './fixtures.js';

const URL_A = 'http://example.org/SubscriptionTopic/a';

function topic(id: string, source: TopicSource, fields: Partial<Topic> = {}): Topic {
  return {
    url: URL_A,
    status: 'active',
    derivedFrom: [],
    resourceTrigger: [{ resource: 'Encounter', supportedInteraction: [] }],
    canFilterBy: [],
    notificationShape: [],
    source,
    id,
    ...fields,
  };
}

const config = (file: string): TopicSource => ({ kind: 'config', file });
const upstream = (reference: string): TopicSource => ({ kind: 'upstream', reference });

describe('topics: registry', () => {
  it('looks up by url (newest version) and by url|version (that version)', () => {
    const registry = new TopicRegistry();
    registry.replaceSource('upstream', [
      topic('v2', upstream('SubscriptionTopic/v2'), { version: '1.2.0' }),
      topic('v10', upstream('SubscriptionTopic/v10'), { version: '1.10.0' }),
      topic('v9', upstream('SubscriptionTopic/v9'), { version: '1.9.0' }),
    ]);
    expect(registry.get(URL_A)?.id).to.equal('v10');
    expect(registry.get(`${URL_A}|1.2.0`)?.id).to.equal('v2');
    expect(registry.get(`${URL_A}|2.0.0`)).to.equal(undefined);
    expect(registry.get('http://example.org/other')).to.equal(undefined);
    expect(registry.getById('v9')?.version).to.equal('1.9.0');
  });

  it('finds an unversioned topic by its url only', () => {
    const registry = new TopicRegistry();
    registry.replaceSource('config', [topic('a', config('a.json'))]);
    expect(registry.get(URL_A)?.id).to.equal('a');
    expect(registry.get(`${URL_A}|1.0.0`)).to.equal(undefined);
  });

  it('prefers a config topic over an upstream one with the same url and version, with a warning', () => {
    const { lines, logger } = recorder();
    const registry = new TopicRegistry(logger);
    registry.replaceSource('upstream', [topic('up', upstream('SubscriptionTopic/up'), { version: '1' }), topic('up2', upstream('SubscriptionTopic/up2'), { version: '2' })]);
    registry.replaceSource('config', [topic('cfg', config('config/topics/a.json'), { version: '1' })]);
    expect(registry.get(`${URL_A}|1`)?.id).to.equal('cfg');
    expect(registry.get(URL_A)?.id).to.equal('up2');
    expect(registry.all().map((t) => t.id)).to.deep.equal(['cfg', 'up2']);
    expect(lines.filter((l) => l.level === 'warn')).to.have.length(1);
    expect(lines[0]!.fields).to.include({ ignored: 'upstream SubscriptionTopic/up', kept: 'config file config/topics/a.json' });

    // The same conflict at the next upstream resync is not logged again.
    registry.replaceSource('upstream', [topic('up', upstream('SubscriptionTopic/up'), { version: '1' })]);
    expect(lines.filter((l) => l.level === 'warn')).to.have.length(1);
  });

  it('counts a versioned topic newer than an unversioned one, and breaks a version tie by date', () => {
    const registry = new TopicRegistry();
    registry.replaceSource('config', [topic('unversioned', config('a.json'), { url: 'http://x/t', date: '2020-01-01' })]);
    registry.replaceSource('upstream', [topic('versioned', upstream('SubscriptionTopic/versioned'), { url: 'http://x/t', version: '1', date: '2019-01-01' })]);
    expect(registry.get('http://x/t')?.id).to.equal('versioned');
    registry.replaceSource('config', [topic('older', config('a.json'), { url: 'http://x/t', version: '1.0', date: '2020-01-01' })]);
    registry.replaceSource('upstream', [topic('newer', upstream('SubscriptionTopic/newer'), { url: 'http://x/t', version: '1.00', date: '2021-01-01' })]);
    expect(registry.get('http://x/t')?.id).to.equal('newer');
  });

  it('lists each url once for the CapabilityStatement', () => {
    const registry = new TopicRegistry();
    registry.replaceSource('config', [topic('a1', config('a.json'), { version: '1' }), topic('b', config('b.json'), { url: 'http://example.org/b' })]);
    registry.replaceSource('upstream', [topic('a2', upstream('SubscriptionTopic/a2'), { version: '2' })]);
    expect(registry.urls()).to.deep.equal([URL_A, 'http://example.org/b']);
  });

  it('tells listeners when the topics in effect change, and only then', () => {
    const { lines, logger } = recorder();
    const registry = new TopicRegistry(logger);
    const seen: number[] = [];
    const stop = registry.onChange((r) => seen.push(r.all().length));
    registry.onChange(() => {
      throw new Error('listener bug');
    });
    registry.replaceSource('upstream', [topic('a', upstream('SubscriptionTopic/a'))]);
    registry.replaceSource('upstream', [topic('a', upstream('SubscriptionTopic/a'))]);
    // Shadowed by config: the set in effect changes (the config topic replaces the upstream one).
    registry.replaceSource('config', [topic('a', config('a.json'))]);
    registry.replaceSource('upstream', []);
    expect(seen).to.deep.equal([1, 1]);
    expect(lines.filter((l) => l.level === 'error')).to.have.length(2);
    stop();
    registry.replaceSource('config', []);
    expect(seen).to.deep.equal([1, 1]);
  });

  it('keeps the first of two topics with the same id for reads by id', () => {
    const { lines, logger } = recorder();
    const registry = new TopicRegistry(logger);
    registry.replaceSource('config', [topic('same', config('a.json'))]);
    registry.replaceSource('upstream', [topic('same', upstream('SubscriptionTopic/same'), { url: 'http://example.org/b' })]);
    expect(registry.getById('same')?.url).to.equal(URL_A);
    expect(registry.get('http://example.org/b')?.id).to.equal('same');
    expect(lines.some((l) => /same id/.test(l.msg))).to.equal(true);
  });
});
