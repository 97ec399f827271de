import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import { R4_NOTIFICATION_PROFILE, R4B_NOTIFICATION_PROFILE, renderNotification, type NotificationEventInput, type NotificationInput } from '../../src/fhir/notification.js';
import type { ContentLevel } from '../../src/fhir/subscription.js';

const BASE = 'https://example.org/fhir';
const TOPIC = 'http://hl7.org/SubscriptionTopic/admission';
const TIMESTAMP = '2020-05-29T11:44:13.1882432-05:00';
const ENCOUNTER_ID = '86009987-eabe-42bf-8c02-b112b18cb616';
const STATUS_ID = '292d3c72-edc1-4d8a-afaa-d85e19c7f563';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VERSIONS: FhirVersion[] = ['R4', 'R4B', 'R5'];
const CONTENTS: ContentLevel[] = ['empty', 'id-only', 'full-resource'];

/** The Encounter of the IG full-resource example. */
const ENCOUNTER = {
  resourceType: 'Encounter',
  id: ENCOUNTER_ID,
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
  subject: { reference: 'https://example.org/fhir/Patient/1599eb66-431a-447c-a3de-6897fe9ae9a1', display: 'Example Patient' },
};
const PATIENT = { resourceType: 'Patient', id: '1599eb66-431a-447c-a3de-6897fe9ae9a1', name: [{ family: 'Example' }] };

// Loose JSON types for reading what was rendered.
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Same members in the same order: what a client reading the serialised JSON sees. */
function sameJson(actual: unknown, expected: unknown): void {
  expect(JSON.stringify(actual, null, 1)).to.equal(JSON.stringify(expected, null, 1));
}

function event(overrides: Partial<NotificationEventInput> = {}): NotificationEventInput {
  return {
    eventNumber: 2,
    timestamp: TIMESTAMP,
    focusReference: `Encounter/${ENCOUNTER_ID}`,
    interaction: 'create',
    resourceJson: JSON.stringify(ENCOUNTER),
    ...overrides,
  };
}

function input(overrides: Partial<NotificationInput> = {}): NotificationInput {
  return {
    version: 'R4',
    dialect: 'spec',
    type: 'event-notification',
    subscriptionId: 'admission',
    publicBaseUrl: BASE,
    topic: TOPIC,
    status: 'active',
    content: 'id-only',
    eventsSinceSubscriptionStart: 2,
    events: [event()],
    bundleId: 'r4-notification-id-only',
    statusId: STATUS_ID,
    timestamp: TIMESTAMP,
    ...overrides,
  };
}

function render(overrides: Partial<NotificationInput> = {}): Json {
  return JSON.parse(renderNotification(input(overrides)));
}

/** R4 status parameters by name. */
function params(bundle: Json): Map<string, Json[]> {
  const out = new Map<string, Json[]>();
  for (const { name, ...value } of bundle.entry[0].resource.parameter) out.set(name, [...(out.get(name) ?? []), value]);
  return out;
}

function parts(notificationEvent: Json): Map<string, Json[]> {
  const out = new Map<string, Json[]>();
  for (const { name, ...value } of notificationEvent.part) out.set(name, [...(out.get(name) ?? []), value]);
  return out;
}

/** Inferno `…_notification_conformance` (check 5), minus HTTP headers and profile validation. */
function infernoCheck5(bundle: Json, subscriptionId: string, type: string, status: string | undefined): void {
  expect(bundle.resourceType).to.equal('Bundle');
  expect(bundle.type).to.equal('history');
  expect(bundle.entry).to.be.an('array').that.is.not.empty;
  const [first, ...rest] = bundle.entry;
  expect(first.request, 'entry[0].request').to.exist;
  expect(first.response, 'entry[0].response').to.exist;
  expect(first.request.url.endsWith(`Subscription/${subscriptionId}/$status`)).to.equal(true);
  for (const entry of rest) {
    expect(entry.request, 'entry.request').to.exist;
    expect(entry.response, 'entry.response').to.exist;
  }
  expect(first.resource.resourceType).to.equal('Parameters');
  const p = params(bundle);
  expect(p.get('type')).to.deep.equal([{ valueCode: type }]);
  if (status !== undefined) expect(p.get('status')).to.deep.equal([{ valueCode: status }]);
}

/** Inferno check 10's resolution rule for a reference to an entry. */
function resolves(bundle: Json, reference: string): boolean {
  return bundle.entry
    .slice(1)
    .some((entry: Json) => (reference.startsWith('urn:') ? entry.fullUrl === reference : entry.resource !== undefined && reference.includes(`${entry.resource.resourceType}/${entry.resource.id}`)));
}

describe('fhir/notification', () => {
  describe('R4 (history Bundle + backport Parameters)', () => {
    it('renders the IG id-only notification (r4-notification-id-only) member for member, plus the focus entry', () => {
      const text = renderNotification(input({ events: [event({ interaction: 'update', resourceJson: undefined })] }));
      const bundle = JSON.parse(text);
      sameJson(
        { ...bundle, entry: bundle.entry.slice(0, 1) },
        {
          resourceType: 'Bundle',
          id: 'r4-notification-id-only',
          meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4'] },
          type: 'history',
          timestamp: '2020-05-29T11:44:13.1882432-05:00',
          entry: [
            {
              fullUrl: 'urn:uuid:292d3c72-edc1-4d8a-afaa-d85e19c7f563',
              resource: {
                resourceType: 'Parameters',
                id: '292d3c72-edc1-4d8a-afaa-d85e19c7f563',
                meta: { profile: ['http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4'] },
                parameter: [
                  { name: 'subscription', valueReference: { reference: 'https://example.org/fhir/Subscription/admission' } },
                  { name: 'topic', valueCanonical: 'http://hl7.org/SubscriptionTopic/admission' },
                  { name: 'status', valueCode: 'active' },
                  { name: 'type', valueCode: 'event-notification' },
                  { name: 'events-since-subscription-start', valueString: '2' },
                  {
                    name: 'notification-event',
                    part: [
                      { name: 'event-number', valueString: '2' },
                      { name: 'timestamp', valueInstant: '2020-05-29T11:44:13.1882432-05:00' },
                      { name: 'focus', valueReference: { reference: 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616' } },
                    ],
                  },
                ],
              },
              request: { method: 'GET', url: 'https://example.org/fhir/Subscription/admission/$status' },
              response: { status: '200' },
            },
          ],
        },
      );
      sameJson(bundle.entry[1], {
        fullUrl: `${BASE}/Encounter/${ENCOUNTER_ID}`,
        request: { method: 'PUT', url: `Encounter/${ENCOUNTER_ID}` },
        response: { status: '200' },
      });
      expect(bundle.entry).to.have.length(2);
    });

    it('renders the IG full-resource entry member for member', () => {
      const bundle = render({ content: 'full-resource' });
      sameJson(bundle.entry[1], {
        fullUrl: 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616',
        resource: {
          resourceType: 'Encounter',
          id: '86009987-eabe-42bf-8c02-b112b18cb616',
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
          subject: { reference: 'https://example.org/fhir/Patient/1599eb66-431a-447c-a3de-6897fe9ae9a1', display: 'Example Patient' },
        },
        request: { method: 'POST', url: 'Encounter' },
        response: { status: '201' },
      });
      expect(params(bundle).get('topic')).to.deep.equal([{ valueCanonical: TOPIC }]);
    });

    it('passes Inferno check 5 for every content level and event notifications, handshakes and heartbeats', () => {
      for (const content of CONTENTS) {
        infernoCheck5(render({ content }), 'admission', 'event-notification', 'active');
        infernoCheck5(render({ content, type: 'handshake', status: 'requested', events: [], eventsSinceSubscriptionStart: 0 }), 'admission', 'handshake', 'requested');
        infernoCheck5(render({ content, type: 'heartbeat', events: [] }), 'admission', 'heartbeat', undefined);
        const deletes = render({ content, events: [event({ interaction: 'delete', resourceJson: undefined })] });
        infernoCheck5(deletes, 'admission', 'event-notification', 'active');
      }
    });

    it('passes Inferno check 8 for empty content: no topic, no focus or context, nothing but the status', () => {
      const bundle = render({
        content: 'empty',
        events: [event({ additionalContext: [{ reference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT) }] })],
      });
      const p = params(bundle);
      expect(p.has('topic')).to.equal(false);
      expect(bundle.entry).to.have.length(1);
      const events = p.get('notification-event') ?? [];
      expect(events).to.have.length(1);
      const eventParts = parts(events[0]);
      expect([...eventParts.keys()]).to.deep.equal(['event-number', 'timestamp']);
      expect(renderNotification(input({ content: 'empty' }))).not.to.include('"resource":{"resourceType":"Encounter"');
    });

    it('passes Inferno check 9 for id-only content: focus on each event, entries with fullUrl and no resource', () => {
      const bundle = render({
        content: 'id-only',
        events: [
          event({ eventNumber: 1, additionalContext: [{ reference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT) }] }),
          event({ eventNumber: 2, interaction: 'update', versionId: '2' }),
        ],
      });
      const events = params(bundle).get('notification-event') ?? [];
      expect(events).to.have.length(2);
      for (const e of events) expect(parts(e).get('focus')).to.have.length(1);
      expect(parts(events[0]).get('additional-context')).to.deep.equal([{ valueReference: { reference: `${BASE}/Patient/${PATIENT.id}` } }]);
      const rest = bundle.entry.slice(1);
      expect(rest).to.have.length(3);
      for (const entry of rest) {
        expect(entry.fullUrl)
          .to.be.a('string')
          .and.match(/^https:\/\/example\.org\/fhir\//);
        expect(entry).not.to.have.property('resource');
      }
      sameJson(rest[1], { fullUrl: `${BASE}/Patient/${PATIENT.id}`, request: { method: 'GET', url: `Patient/${PATIENT.id}` }, response: { status: '200' } });
      sameJson(rest[2].response, { status: '200', etag: 'W/"2"' });
    });

    it('passes Inferno check 10 for full-resource content: topic, and focus and context resolve to entries with resources', () => {
      const bundle = render({
        content: 'full-resource',
        events: [event({ additionalContext: [{ reference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT) }] })],
      });
      const p = params(bundle);
      expect(p.get('topic')).to.deep.equal([{ valueCanonical: TOPIC }]);
      const events = p.get('notification-event') ?? [];
      expect(events).to.have.length(1);
      const eventParts = parts(events[0]);
      const focus = eventParts.get('focus')?.[0].valueReference.reference;
      expect(resolves(bundle, focus)).to.equal(true);
      for (const context of eventParts.get('additional-context') ?? []) expect(resolves(bundle, context.valueReference.reference)).to.equal(true);
      sameJson(bundle.entry[2], {
        fullUrl: `${BASE}/Patient/${PATIENT.id}`,
        resource: PATIENT,
        request: { method: 'GET', url: `Patient/${PATIENT.id}` },
        response: { status: '200' },
      });
    });

    it('passes Inferno check 11 for a handshake: entry[0] only, type handshake, status as given, count as given', () => {
      const bundle = render({ type: 'handshake', status: 'requested', events: [], eventsSinceSubscriptionStart: 0, content: 'full-resource' });
      expect(bundle.entry).to.have.length(1);
      const p = params(bundle);
      expect(p.get('status')).to.deep.equal([{ valueCode: 'requested' }]);
      expect(p.get('type')).to.deep.equal([{ valueCode: 'handshake' }]);
      expect(p.get('events-since-subscription-start')).to.deep.equal([{ valueString: '0' }]);
      expect(p.has('notification-event')).to.equal(false);
      // WebSocket subscriptions are active from creation; the renderer says what it is told.
      expect(params(render({ type: 'handshake', status: 'active', events: [] })).get('status')).to.deep.equal([{ valueCode: 'active' }]);
    });

    it('passes Inferno check 12 for a heartbeat: entry[0] only, type heartbeat', () => {
      const bundle = render({ type: 'heartbeat', events: [], eventsSinceSubscriptionStart: 7, content: 'full-resource' });
      expect(bundle.entry).to.have.length(1);
      const p = params(bundle);
      expect(p.get('type')).to.deep.equal([{ valueCode: 'heartbeat' }]);
      expect(p.get('events-since-subscription-start')).to.deep.equal([{ valueString: '7' }]);
    });

    it('renders deletes as DELETE entries without a resource, in every content level that has entries', () => {
      for (const content of ['id-only', 'full-resource'] as const) {
        const bundle = render({ content, events: [event({ interaction: 'delete', resourceJson: undefined, versionId: '3' })] });
        sameJson(bundle.entry[1], {
          fullUrl: `${BASE}/Encounter/${ENCOUNTER_ID}`,
          request: { method: 'DELETE', url: `Encounter/${ENCOUNTER_ID}` },
          response: { status: '204', etag: 'W/"3"' },
        });
      }
      // Text handed in for a delete anyway is not shown as the current state.
      const bundle = render({ content: 'full-resource', events: [event({ interaction: 'delete' })] });
      expect(bundle.entry[1]).not.to.have.property('resource');
    });

    it('renders full-resource events whose text is unavailable like id-only ones, so request/response still say what changed', () => {
      const bundle = render({ content: 'full-resource', events: [event({ interaction: 'update', resourceJson: undefined })] });
      sameJson(bundle.entry[1], {
        fullUrl: `${BASE}/Encounter/${ENCOUNTER_ID}`,
        request: { method: 'PUT', url: `Encounter/${ENCOUNTER_ID}` },
        response: { status: '200' },
      });
    });

    it('renders several events in order: one notification-event and one entry per event', () => {
      const second = { ...ENCOUNTER, id: 'e2', meta: { versionId: '5' } };
      const bundle = render({
        content: 'full-resource',
        eventsSinceSubscriptionStart: 12,
        events: [
          event({ eventNumber: 10 }),
          event({ eventNumber: 11, focusReference: 'Encounter/e2', interaction: 'update', versionId: '5', resourceJson: JSON.stringify(second) }),
          event({ eventNumber: 12, focusReference: 'Encounter/e3', interaction: 'delete', resourceJson: undefined }),
        ],
      });
      const events = params(bundle).get('notification-event') ?? [];
      expect(events.map((e) => parts(e).get('event-number')?.[0].valueString)).to.deep.equal(['10', '11', '12']);
      expect(events.map((e) => parts(e).get('focus')?.[0].valueReference.reference)).to.deep.equal([`${BASE}/Encounter/${ENCOUNTER_ID}`, `${BASE}/Encounter/e2`, `${BASE}/Encounter/e3`]);
      expect(params(bundle).get('events-since-subscription-start')).to.deep.equal([{ valueString: '12' }]);
      expect(bundle.entry.slice(1).map((e: Json) => `${e.request.method} ${e.request.url} ${e.response.status}`)).to.deep.equal([
        'POST Encounter 201',
        'PUT Encounter/e2 200',
        'DELETE Encounter/e3 204',
      ]);
      sameJson(bundle.entry[2].resource, second);
    });

    it('lists a context resource shared by several events once', () => {
      const context = [{ reference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT) }];
      for (const content of ['id-only', 'full-resource'] as const) {
        const bundle = render({
          content,
          events: [event({ eventNumber: 1, additionalContext: context }), event({ eventNumber: 2, focusReference: 'Encounter/e2', additionalContext: context })],
        });
        expect(bundle.entry.slice(1).map((e: Json) => e.fullUrl)).to.deep.equal([`${BASE}/Encounter/${ENCOUNTER_ID}`, `${BASE}/Patient/${PATIENT.id}`, `${BASE}/Encounter/e2`]);
        // Both events still name their context.
        for (const e of params(bundle).get('notification-event') ?? []) expect(parts(e).get('additional-context')).to.have.length(1);
      }
    });

    it('renders query-event ($events) as the same history bundle with type query-event', () => {
      const bundle = render({ type: 'query-event', content: 'full-resource' });
      infernoCheck5(bundle, 'admission', 'query-event', 'active');
      expect(bundle.entry).to.have.length(2);
      // A range with nothing retained is still an answer.
      expect(render({ type: 'query-event', events: [] }).entry).to.have.length(1);
    });
  });

  describe('R4B (history Bundle + SubscriptionStatus)', () => {
    it('renders the backport notification profile and the IG SubscriptionStatus member for member', () => {
      const bundle = render({ version: 'R4B', statusId: '3dd3c88d-1f7c-40ce-bf41-6b0d8186c311', content: 'full-resource' });
      expect(bundle.meta).to.deep.equal({ profile: [R4B_NOTIFICATION_PROFILE] });
      expect(R4B_NOTIFICATION_PROFILE).to.equal('http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification');
      expect(bundle.type).to.equal('history');
      sameJson(bundle.entry[0].resource, {
        resourceType: 'SubscriptionStatus',
        id: '3dd3c88d-1f7c-40ce-bf41-6b0d8186c311',
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: '2',
        notificationEvent: [{ eventNumber: '2', timestamp: '2020-05-29T11:44:13.1882432-05:00', focus: { reference: 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616' } }],
        subscription: { reference: 'https://example.org/fhir/Subscription/admission' },
        topic: 'http://hl7.org/SubscriptionTopic/admission',
      });
      expect(bundle.entry[0].fullUrl).to.equal('urn:uuid:3dd3c88d-1f7c-40ce-bf41-6b0d8186c311');
      expect(bundle.entry[0].request).to.deep.equal({ method: 'GET', url: `${BASE}/Subscription/admission/$status` });
      expect(bundle.entry[0].response).to.deep.equal({ status: '200' });
      sameJson(bundle.entry[1], { fullUrl: `${BASE}/Encounter/${ENCOUNTER_ID}`, resource: ENCOUNTER, request: { method: 'POST', url: 'Encounter' }, response: { status: '201' } });
    });

    it('follows the payload rules: empty has no topic, focus or entries; id-only has entries without resources', () => {
      const empty = render({ version: 'R4B', content: 'empty' });
      expect(empty.entry).to.have.length(1);
      expect(empty.entry[0].resource).not.to.have.property('topic');
      expect(empty.entry[0].resource.notificationEvent).to.deep.equal([{ eventNumber: '2', timestamp: TIMESTAMP }]);
      const idOnly = render({ version: 'R4B', content: 'id-only' });
      expect(idOnly.entry).to.have.length(2);
      expect(idOnly.entry[1]).to.have.keys('fullUrl', 'request', 'response');
    });

    it('renders handshakes and heartbeats as the status entry alone', () => {
      for (const type of ['handshake', 'heartbeat'] as const) {
        const bundle = render({ version: 'R4B', type, events: [], eventsSinceSubscriptionStart: 0 });
        expect(bundle.entry).to.have.length(1);
        expect(bundle.entry[0].resource).to.include({ type, eventsSinceSubscriptionStart: '0' });
        expect(bundle.entry[0].resource).not.to.have.property('notificationEvent');
      }
    });
  });

  describe('R5 (subscription-notification Bundle + SubscriptionStatus)', () => {
    const r5 = (overrides: Partial<NotificationInput> = {}) =>
      render({
        version: 'R5',
        bundleId: 'r5-id-only',
        statusId: 'c144782b-da2f-4125-a9e2-9fa4b9085a40',
        subscriptionId: '123',
        topic: 'http://example.org/FHIR/R5/SubscriptionTopic/admission',
        timestamp: '2023-03-01T10:00:00Z',
        events: [event({ timestamp: '2023-03-01T10:00:00Z', focusReference: 'Encounter/2', resourceJson: JSON.stringify({ resourceType: 'Encounter', id: '2' }) })],
        ...overrides,
      });

    it('renders the R5 id-only example member for member: no request/response, no extra entry', () => {
      sameJson(r5({ content: 'id-only' }), {
        resourceType: 'Bundle',
        id: 'r5-id-only',
        type: 'subscription-notification',
        timestamp: '2023-03-01T10:00:00Z',
        entry: [
          {
            fullUrl: 'urn:uuid:c144782b-da2f-4125-a9e2-9fa4b9085a40',
            resource: {
              resourceType: 'SubscriptionStatus',
              id: 'c144782b-da2f-4125-a9e2-9fa4b9085a40',
              status: 'active',
              type: 'event-notification',
              eventsSinceSubscriptionStart: '2',
              notificationEvent: [{ eventNumber: '2', timestamp: '2023-03-01T10:00:00Z', focus: { reference: 'https://example.org/fhir/Encounter/2' } }],
              subscription: { reference: 'https://example.org/fhir/Subscription/123' },
              topic: 'http://example.org/FHIR/R5/SubscriptionTopic/admission',
            },
          },
        ],
      });
    });

    it('renders full-resource entries as {fullUrl, resource}, and deletes with request/response instead', () => {
      const full = r5({ content: 'full-resource' });
      expect(full.entry).to.have.length(2);
      sameJson(full.entry[1], { fullUrl: 'https://example.org/fhir/Encounter/2', resource: { resourceType: 'Encounter', id: '2' } });
      const deleted = r5({ content: 'full-resource', events: [event({ focusReference: 'Encounter/2', interaction: 'delete', resourceJson: undefined })] });
      sameJson(deleted.entry[1], { fullUrl: 'https://example.org/fhir/Encounter/2', request: { method: 'DELETE', url: 'Encounter/2' }, response: { status: '204' } });
      expect(r5({ content: 'empty' }).entry).to.have.length(1);
      expect(r5({ content: 'empty' }).entry[0].resource).not.to.have.property('topic');
    });

    it('includes context resources once, after the focus they belong to', () => {
      const context = [{ reference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT) }];
      const bundle = r5({
        content: 'full-resource',
        events: [event({ eventNumber: 1, focusReference: 'Encounter/2', additionalContext: context }), event({ eventNumber: 2, focusReference: 'Encounter/3', additionalContext: context })],
      });
      expect(bundle.entry.slice(1).map((e: Json) => e.fullUrl)).to.deep.equal([`${BASE}/Encounter/2`, `${BASE}/Patient/${PATIENT.id}`, `${BASE}/Encounter/3`]);
      expect(bundle.entry[0].resource.notificationEvent[1].additionalContext).to.deep.equal([{ reference: `${BASE}/Patient/${PATIENT.id}` }]);
    });

    it('renders query-event, handshake and heartbeat with the same bundle type', () => {
      expect(r5({ type: 'query-event', content: 'full-resource' })).to.include({ type: 'subscription-notification' });
      for (const type of ['handshake', 'heartbeat'] as const) {
        const bundle = r5({ type, events: [], eventsSinceSubscriptionStart: 0 });
        expect(bundle.type).to.equal('subscription-notification');
        expect(bundle.entry).to.have.length(1);
        expect(bundle.entry[0]).to.have.keys('fullUrl', 'resource');
        expect(bundle.entry[0].resource).to.include({ type, eventsSinceSubscriptionStart: '0' });
      }
    });

    it('writes entered-in-error, which only R5 knows, and maps it to off in the backport versions', () => {
      expect(r5({ type: 'heartbeat', events: [], status: 'entered-in-error' }).entry[0].resource.status).to.equal('entered-in-error');
      expect(render({ version: 'R4B', type: 'heartbeat', events: [], status: 'entered-in-error' }).entry[0].resource.status).to.equal('off');
    });
  });

  describe('Medplum dialect', () => {
    const medplum = (overrides: Partial<NotificationInput> = {}) =>
      render({ dialect: 'medplum', subscriptionId: 'sub-1', topic: undefined, content: 'full-resource', bundleId: 'b-1', statusId: 's-1', ...overrides });

    it('renders an event as Medplum does: relative references, status without fullUrl, then {resource, fullUrl}', () => {
      sameJson(medplum({ events: [event({ eventNumber: 4 })], eventsSinceSubscriptionStart: 4 }), {
        resourceType: 'Bundle',
        id: 'b-1',
        type: 'history',
        timestamp: TIMESTAMP,
        entry: [
          {
            resource: {
              resourceType: 'SubscriptionStatus',
              id: 's-1',
              status: 'active',
              type: 'event-notification',
              eventsSinceSubscriptionStart: '4',
              notificationEvent: [{ eventNumber: '4', timestamp: TIMESTAMP, focus: { reference: `Encounter/${ENCOUNTER_ID}` } }],
              subscription: { reference: 'Subscription/sub-1' },
            },
          },
          { resource: ENCOUNTER, fullUrl: `${BASE}/Encounter/${ENCOUNTER_ID}` },
        ],
      });
    });

    it('has one shape whatever the FHIR version', () => {
      const [r4, ...others] = VERSIONS.map((version) => renderNotification(input({ dialect: 'medplum', version })));
      for (const other of others) expect(other).to.equal(r4);
    });

    it('keeps the subscription id where the SubscriptionManager reads it (reference.split("/")[1])', () => {
      for (const type of ['handshake', 'heartbeat', 'event-notification'] as const) {
        const bundle = medplum({ type, events: type === 'event-notification' ? [event()] : [] });
        const status = bundle.entry[0].resource;
        expect(status.resourceType).to.equal('SubscriptionStatus');
        expect(status.type).to.equal(type);
        expect(status.subscription.reference.split('/')[1]).to.equal('sub-1');
      }
    });

    it('renders handshakes and heartbeats as one status entry', () => {
      const bundle = medplum({ type: 'handshake', events: [], eventsSinceSubscriptionStart: 0 });
      sameJson(bundle.entry, [
        { resource: { resourceType: 'SubscriptionStatus', id: 's-1', status: 'active', type: 'handshake', eventsSinceSubscriptionStart: '0', subscription: { reference: 'Subscription/sub-1' } } },
      ]);
      expect(medplum({ type: 'heartbeat', events: [] }).entry).to.have.length(1);
    });

    it('honours the content level and topic, and keeps one entry per event in full-resource', () => {
      expect(medplum({ content: 'id-only' }).entry).to.have.length(1);
      const empty = medplum({ content: 'empty', topic: TOPIC });
      expect(empty.entry).to.have.length(1);
      expect(empty.entry[0].resource.notificationEvent).to.deep.equal([{ eventNumber: '2', timestamp: TIMESTAMP }]);
      expect(empty.entry[0].resource).not.to.have.property('topic');
      expect(medplum({ topic: TOPIC }).entry[0].resource.topic).to.equal(TOPIC);
      const bundle = medplum({
        events: [event({ eventNumber: 1 }), event({ eventNumber: 2, focusReference: 'Encounter/gone', interaction: 'delete', resourceJson: undefined })],
      });
      expect(bundle.entry).to.have.length(3);
      sameJson(bundle.entry[2], { fullUrl: `${BASE}/Encounter/gone`, request: { method: 'DELETE', url: 'Encounter/gone' } });
    });

    it('is read correctly by the real @medplum/core SubscriptionManager', async () => {
      await import('../../src/demo/websocket-global.js');
      const { MedplumClient, SubscriptionManager } = await import('@medplum/core');
      class FakeSocket extends EventTarget {
        static last: FakeSocket | undefined;
        readyState = 0;
        constructor() {
          super();
          FakeSocket.last = this;
        }
        send(): void {}
        close(): void {}
        reconnect(): void {}
      }
      const client = new MedplumClient({ baseUrl: 'http://localhost/', fetch: () => Promise.reject(new Error('no network in this test')) });
      const manager = new SubscriptionManager(client, 'ws://localhost/ws/subscriptions-r4', {
        ReconnectingWebSocket: FakeSocket as unknown as NonNullable<ConstructorParameters<typeof SubscriptionManager>[2]>['ReconnectingWebSocket'],
      });
      const seen: Array<[string, unknown]> = [];
      const master = manager.getMasterEmitter();
      master.addEventListener('connect', (e) => seen.push(['connect', e.payload.subscriptionId]));
      master.addEventListener('heartbeat', (e) => seen.push(['heartbeat', e.payload.entry?.length]));
      master.addEventListener('message', (e) => seen.push(['message', e.payload.entry?.[1]?.resource]));
      master.addEventListener('error', (e) => seen.push(['error', e.payload]));
      const deliver = (data: string): void => {
        const message = new Event('message') as Event & { data: string };
        message.data = data;
        FakeSocket.last!.dispatchEvent(message);
      };
      const warn = console.warn;
      console.warn = () => {}; // it warns that it has no criteria for sub-1, which is true here
      try {
        const common = { dialect: 'medplum', subscriptionId: 'sub-1', content: 'full-resource', version: 'R4' } as const;
        deliver(renderNotification(input({ ...common, type: 'handshake', events: [], eventsSinceSubscriptionStart: 0 })));
        deliver(renderNotification(input({ ...common, type: 'heartbeat', events: [] })));
        deliver(renderNotification(input({ ...common })));
      } finally {
        console.warn = warn;
      }
      sameJson(seen, [
        ['connect', 'sub-1'],
        ['heartbeat', 1],
        ['message', ENCOUNTER],
      ]);
    });
  });

  describe('withheld events (the recipient may not read the focus)', () => {
    const hidden = event({ eventNumber: 3, focusReference: `Patient/${PATIENT.id}`, resourceJson: JSON.stringify(PATIENT), withheld: true });
    const shown = event({ eventNumber: 4 });

    it('renders a notification whose only event is withheld exactly as the empty content level does', () => {
      for (const version of VERSIONS) {
        for (const dialect of ['spec', 'medplum'] as const) {
          for (const content of ['id-only', 'full-resource'] as const) {
            const withheld = renderNotification(input({ version, dialect, content, events: [hidden] }));
            const empty = renderNotification(input({ version, dialect, content: 'empty', events: [{ ...hidden, withheld: undefined }] }));
            expect(withheld, `${version} ${dialect} ${content}`).to.equal(empty);
            expect(withheld).to.not.include(PATIENT.id);
          }
        }
      }
    });

    it('keeps every event number in a batch but shows only the events not withheld', () => {
      for (const version of VERSIONS) {
        const text = renderNotification(input({ version, content: 'full-resource', eventsSinceSubscriptionStart: 4, events: [hidden, shown] }));
        expect(text, version).to.not.include('"family"');
        const bundle = JSON.parse(text);
        if (version === 'R4') {
          const events = params(bundle)
            .get('notification-event')!
            .map((e) => parts(e));
          expect(events.map((e) => e.get('event-number')![0].valueString)).to.deep.equal(['3', '4']);
          expect(events[0]!.has('focus')).to.equal(false);
          expect(events[1]!.get('focus')![0].valueReference.reference).to.equal(`${BASE}/Encounter/${ENCOUNTER_ID}`);
        } else {
          const events = bundle.entry[0].resource.notificationEvent;
          expect(events.map((e: Json) => e.eventNumber)).to.deep.equal(['3', '4']);
          expect(events[0].focus).to.equal(undefined);
          expect(events[1].focus.reference).to.equal(`${BASE}/Encounter/${ENCOUNTER_ID}`);
        }
        expect(bundle.entry.slice(1).map((e: Json) => e.resource?.resourceType)).to.deep.equal(['Encounter']);
      }
    });
  });

  describe('text', () => {
    it('splices the resource text byte for byte, whatever its formatting', () => {
      const pretty = JSON.stringify({ resourceType: 'Encounter', id: ENCOUNTER_ID, note: 'caf\u00e9 \u2028 "quoted" \\ </script>', z: 1, a: [] }, null, 2);
      const odd = '{"resourceType":"Encounter","id":"' + ENCOUNTER_ID + '","text":"\\u00e9\\/","n":1.50}';
      for (const resourceJson of [pretty, odd]) {
        for (const version of VERSIONS) {
          for (const dialect of ['spec', 'medplum'] as const) {
            const text = renderNotification(input({ version, dialect, content: 'full-resource', events: [event({ resourceJson })] }));
            expect(text).to.include(resourceJson);
            expect(() => JSON.parse(text)).not.to.throw();
          }
        }
      }
    });

    it('writes counters as strings in every version', () => {
      const bundle = render({ version: 'R4', eventsSinceSubscriptionStart: 9, events: [event({ eventNumber: 9 })] });
      expect(params(bundle).get('events-since-subscription-start')).to.deep.equal([{ valueString: '9' }]);
      expect(parts(params(bundle).get('notification-event')![0]).get('event-number')).to.deep.equal([{ valueString: '9' }]);
      for (const version of ['R4B', 'R5'] as const) {
        const status = render({ version, eventsSinceSubscriptionStart: 9, events: [event({ eventNumber: 9 })] }).entry[0].resource;
        expect(status.eventsSinceSubscriptionStart).to.equal('9');
        expect(status.notificationEvent[0].eventNumber).to.equal('9');
      }
    });

    it('fills in a random bundle id, status id and the current time when not given', () => {
      const before = Date.now();
      const bundle = render({ bundleId: undefined, statusId: undefined, timestamp: undefined });
      expect(bundle.id).to.match(UUID);
      expect(bundle.entry[0].resource.id).to.match(UUID);
      expect(bundle.entry[0].fullUrl).to.equal(`urn:uuid:${bundle.entry[0].resource.id}`);
      expect(Date.parse(bundle.timestamp)).to.be.within(before, Date.now());
      expect(render({ bundleId: undefined }).id).not.to.equal(bundle.id);
    });

    it('accepts a base URL with a trailing slash and absolute focus references', () => {
      const bundle = render({ publicBaseUrl: `${BASE}/`, content: 'full-resource', events: [event({ focusReference: `https://other.example/fhir/Encounter/${ENCOUNTER_ID}` })] });
      expect(bundle.entry[0].request.url).to.equal(`${BASE}/Subscription/admission/$status`);
      expect(bundle.entry[1].fullUrl).to.equal(`https://other.example/fhir/Encounter/${ENCOUNTER_ID}`);
      expect(bundle.entry[1].request).to.deep.equal({ method: 'POST', url: 'Encounter' });
    });

    it('refuses inputs that would make an invalid or non-conformant frame', () => {
      expect(() => renderNotification(input({ events: [] }))).to.throw(RangeError, /at least one event/);
      expect(() => renderNotification(input({ events: [event({ focusReference: 'not a reference' })] }))).to.throw(TypeError, /Type\/id/);
      expect(() => renderNotification(input({ content: 'full-resource', events: [event({ resourceJson: '' })] }))).to.throw(TypeError, /JSON object/);
      expect(() => renderNotification(input({ content: 'full-resource', events: [event({ resourceJson: '[1]' })] }))).to.throw(TypeError, /JSON object/);
      expect(() => renderNotification(input({ events: [event({ eventNumber: 1.5 })] }))).to.throw(RangeError);
    });

    it('exports the R4 notification profile', () => {
      expect(R4_NOTIFICATION_PROFILE).to.equal('http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4');
      expect(render().meta).to.deep.equal({ profile: [R4_NOTIFICATION_PROFILE] });
    });
  });
});
