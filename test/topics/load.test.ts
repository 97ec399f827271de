import { expect } from 'chai';
import fhirpath from 'fhirpath';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTopicDir, topicsFromSearchBundle } from '../../src/topics/load.js';
import { TopicInvalid } from '../../src/topics/parse.js';
import { renderTopic } from '../../src/topics/render.js';
import { searchTopics } from '../../src/topics/search.js';
import type { Topic } from '../../src/topics/topic.js';
import { BASIC_FORMS, basicTopic, ENCOUNTER_COMPLETE, r5Topic, recorder } from './fixtures.js';

function dir(files: Record<string, unknown>): string {
  const d = mkdtempSync(join(tmpdir(), 'fsg-topics-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), typeof content === 'string' ? content : JSON.stringify(content));
  return d;
}

const eventOnly = () => {
  const t = r5Topic();
  delete t.resourceTrigger;
  t.url = 'http://example.org/event-only';
  t.eventTrigger = [{ event: { text: 'A01' }, resource: 'Encounter' }];
  return t;
};

describe('topics: loading', () => {
  it('loads every *.json in name order, logging and skipping bad files and bad bundle entries', () => {
    const second = { ...r5Topic(), id: 'second', url: 'http://example.org/second' };
    const d = dir({
      'a-good.json': r5Topic(),
      'b-broken.json': '{ "resourceType": "SubscriptionTopic", ',
      'c-event-only.json': eventOnly(),
      'd-bundle.json': { resourceType: 'Bundle', type: 'collection', entry: [{ resource: second }, { resource: { resourceType: 'SubscriptionTopic', status: 'active' } }] },
      'e-basic.json': basicTopic(BASIC_FORMS['Basic, 4.3 prefix for the complex parts (1.2.0-ballot)']),
      'notes.txt': 'not a topic',
    });
    mkdirSync(join(d, 'sub.json'));
    const { lines, logger } = recorder();
    const topics = loadTopicDir(d, logger);
    expect(topics.map((t) => t.id)).to.deep.equal(['encounter-complete', 'second', 'encounter-complete']);
    expect(topics[0]!.source).to.deep.equal({ kind: 'config', file: join(d, 'a-good.json') });

    const skipped = lines.filter((l) => l.level === 'warn');
    expect(skipped).to.have.length(3);
    expect(skipped[0]!.fields.file).to.equal(join(d, 'b-broken.json'));
    expect(skipped[0]!.fields.reason).to.be.a('string').and.not.equal('');
    expect(skipped[1]!.fields).to.include({ file: join(d, 'c-event-only.json') });
    expect(String(skipped[1]!.fields.reason)).to.match(/only eventTrigger/);
    expect(skipped[2]!.fields).to.include({ file: join(d, 'd-bundle.json'), entry: 1 });
    expect(String(skipped[2]!.fields.reason)).to.match(/url is required/);
  });

  it('reads topic files that are symlinks, as in a Kubernetes ConfigMap volume', () => {
    // The layout the kubelet writes: keys link through ..data into a timestamped directory.
    const d = mkdtempSync(join(tmpdir(), 'fsg-topics-cm-'));
    mkdirSync(join(d, '..2026_01_01_00_00_00.1'));
    writeFileSync(join(d, '..2026_01_01_00_00_00.1', 'encounter.json'), JSON.stringify(r5Topic()));
    symlinkSync('..2026_01_01_00_00_00.1', join(d, '..data'));
    symlinkSync(join('..data', 'encounter.json'), join(d, 'encounter.json'));
    symlinkSync('does-not-exist.json', join(d, 'dangling.json'));
    const { lines, logger } = recorder();
    expect(loadTopicDir(d, logger).map((t) => t.url)).to.deep.equal([ENCOUNTER_COMPLETE]);
    expect(lines.filter((l) => l.level === 'warn')).to.deep.equal([]);
  });

  it('treats a missing directory as no configured topics', () => {
    const { lines, logger } = recorder();
    expect(loadTopicDir(join(tmpdir(), 'fsg-does-not-exist-4711'), logger)).to.deep.equal([]);
    expect(lines.map((l) => l.level)).to.deep.equal(['info']);
  });

  it('logs the parts of a topic it ignored', () => {
    const mixed = { ...r5Topic(), eventTrigger: [{ event: { text: 'A04' }, resource: 'Encounter' }] };
    const { lines, logger } = recorder();
    expect(loadTopicDir(dir({ 'mixed.json': mixed }), logger)).to.have.length(1);
    expect(lines).to.have.length(1);
    expect(lines[0]!.fields).to.include({ topic: ENCOUNTER_COMPLETE });
    expect(String(lines[0]!.fields.warning)).to.match(/eventTrigger/);
  });

  describe('upstream search bundles', () => {
    it('reads SubscriptionTopic and Basic entries, skipping what is not a usable topic', () => {
      const basic = basicTopic(BASIC_FORMS['Basic, 5.0 prefix (fhir-candle)']);
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [
          { fullUrl: 'http://up/fhir/SubscriptionTopic/encounter-complete', resource: r5Topic(), search: { mode: 'match' } },
          { resource: { ...basic, id: 'b1' }, search: { mode: 'match' } },
          { resource: { resourceType: 'Basic', id: 'other', code: { text: 'something else' } } },
          { resource: { ...eventOnly(), id: 'ev' } },
          { resource: { resourceType: 'Patient', id: 'p' }, search: { mode: 'include' } },
          { resource: { resourceType: 'OperationOutcome', issue: [] }, search: { mode: 'outcome' } },
        ],
      };
      const { lines, logger } = recorder();
      const topics = topicsFromSearchBundle(bundle, 'SubscriptionTopic?_count=200', logger);
      expect(topics.map((t) => t.source)).to.deep.equal([
        { kind: 'upstream', reference: 'SubscriptionTopic/encounter-complete' },
        { kind: 'upstream', reference: 'Basic/b1' },
      ]);
      expect(topics[1]!.id).to.equal('b1');
      expect(lines).to.have.length(1);
      expect(lines[0]!.fields).to.include({ topic: 'SubscriptionTopic/ev' });
    });

    it('throws when the answer is not a Bundle, so the caller keeps the topics it had', () => {
      const { logger } = recorder();
      expect(() => topicsFromSearchBundle({ resourceType: 'OperationOutcome' }, 'SubscriptionTopic', logger)).to.throw(TopicInvalid, /not answer a Bundle/);
      expect(topicsFromSearchBundle({ resourceType: 'Bundle', type: 'searchset' }, 'SubscriptionTopic', logger)).to.deep.equal([]);
    });
  });

  describe('the shipped config/topics', () => {
    const shipped = fileURLToPath(new URL('../../config/topics', import.meta.url));
    const { lines, logger } = recorder();
    let topics: Topic[] = [];
    before(() => {
      topics = loadTopicDir(shipped, logger);
    });
    const byId = (id: string) => topics.find((t) => t.id === id)!;

    it('all load, without a single warning', () => {
      expect(topics.map((t) => t.id).sort()).to.deep.equal(['encounter-admission', 'encounter-discharge', 'patient-record-change']);
      expect(lines).to.deep.equal([]);
      for (const t of topics) {
        expect(t.url).to.equal(`http://fhir-subscription-gateway.dev/SubscriptionTopic/${t.id}`);
        expect(t.status).to.equal('active');
        expect(t.description).to.be.a('string').with.length.above(80);
        for (const version of ['R4', 'R4B', 'R5'] as const) expect(renderTopic(t, version).id).to.equal(t.id);
      }
    });

    it('encounter-admission: in-progress on create, or on update from another status', () => {
      const t = byId('encounter-admission');
      expect(t.resourceTrigger).to.deep.equal([
        {
          description: t.resourceTrigger[0]!.description,
          resource: 'Encounter',
          supportedInteraction: ['create', 'update'],
          queryCriteria: { previous: 'status:not=in-progress', resultForCreate: 'test-passes', current: 'status=in-progress', resultForDelete: 'test-fails', requireBoth: true },
        },
      ]);
      expect(t.canFilterBy.map((f) => f.filterParameter)).to.deep.equal(['patient', 'location', 'service-provider']);
      expect(t.canFilterBy[0]!.filterDefinition).to.equal('http://hl7.org/fhir/SearchParameter/clinical-patient');
      expect(t.notificationShape).to.deep.equal([{ resource: 'Encounter', include: ['Encounter:patient'], revInclude: [] }]);
    });

    it('encounter-discharge: its FHIRPath fires on entering finished (R4) or completed (R5) only', () => {
      const expression = byId('encounter-discharge').resourceTrigger[0]!.fhirPathCriteria!;
      const fires = (previous: object, current: object) => fhirpath.evaluate({}, expression, { previous, current });
      const encounter = (status: string) => ({ resourceType: 'Encounter', id: 'e1', status });
      expect(fires({}, encounter('finished'))).to.deep.equal([true]);
      expect(fires(encounter('in-progress'), encounter('finished'))).to.deep.equal([true]);
      expect(fires(encounter('in-progress'), encounter('completed'))).to.deep.equal([true]);
      expect(fires(encounter('finished'), encounter('finished'))).to.deep.equal([false]);
      expect(fires(encounter('planned'), encounter('in-progress'))).to.deep.equal([false]);
      expect(fires({}, encounter('in-progress'))).to.deep.equal([false]);
    });

    it('patient-record-change: every interaction on the patient and the clinical resources, filterable per patient', () => {
      const t = byId('patient-record-change');
      const types = t.resourceTrigger.map((rt) => rt.resource);
      expect(types).to.include.members(['Patient', 'Observation', 'Encounter', 'Condition', 'AllergyIntolerance', 'MedicationRequest']);
      for (const rt of t.resourceTrigger) expect(rt.supportedInteraction).to.deep.equal(['create', 'update', 'delete']);
      expect(t.canFilterBy.find((f) => f.resource === 'Patient')).to.include({ filterParameter: '_id' });
      for (const type of types.filter((x) => x !== 'Patient')) {
        expect(
          t.canFilterBy.find((f) => f.resource === type),
          type,
        ).to.include({ filterParameter: 'patient', filterDefinition: 'http://hl7.org/fhir/SearchParameter/clinical-patient' });
      }
      expect(searchTopics(topics, new URLSearchParams('resource=MedicationRequest')).map((x) => x.id)).to.deep.equal(['patient-record-change']);
    });
  });
});
