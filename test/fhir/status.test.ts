import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import {
  buildStatus,
  buildStatusSearchBundle,
  R4_STATUS_PROFILE,
  statusEntry,
  type NotificationType,
  type R4StatusParameters,
  type StatusInput,
  type StatusResource,
  type SubscriptionStatusResource,
} from '../../src/fhir/status.js';

const SUB = 'https://example.org/fhir/Subscription/admission';
const TOPIC = 'http://hl7.org/SubscriptionTopic/admission';
const ENCOUNTER = 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616';
const TIMESTAMP = '2020-05-29T11:44:13.1882432-05:00';
const NO_RESPONSE = { system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response', display: 'No Response' };
const VERSIONS: FhirVersion[] = ['R4', 'R4B', 'R5'];
const TYPES: NotificationType[] = ['handshake', 'heartbeat', 'event-notification', 'query-status', 'query-event'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Same members in the same order: what a client reading the serialised JSON sees. */
function sameJson(actual: unknown, expected: unknown): void {
  expect(JSON.stringify(actual, null, 1)).to.equal(JSON.stringify(expected, null, 1));
}

/** R4 parameters by name, for readable assertions. */
function r4(p: R4StatusParameters): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const { name, ...value } of p.parameter) out.set(name, [...(out.get(name) ?? []), value]);
  return out;
}

describe('fhir/status', () => {
  describe('R4 (backport Parameters)', () => {
    it('renders the IG id-only event notification (r4-notification-id-only) member for member', () => {
      const status = buildStatus('R4', {
        id: '292d3c72-edc1-4d8a-afaa-d85e19c7f563',
        subscriptionUrl: SUB,
        topic: TOPIC,
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: 2,
        events: [{ eventNumber: 2, timestamp: TIMESTAMP, focus: { reference: ENCOUNTER } }],
      });
      const entry = {
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
      };
      sameJson(statusEntry('R4', status, SUB), entry);
    });

    it('renders the handshake, heartbeat and error query-status examples', () => {
      const base = { id: 'x', subscriptionUrl: SUB, topic: TOPIC };
      const head = (status: string, type: string, count: string) => [
        { name: 'subscription', valueReference: { reference: SUB } },
        { name: 'topic', valueCanonical: TOPIC },
        { name: 'status', valueCode: status },
        { name: 'type', valueCode: type },
        { name: 'events-since-subscription-start', valueString: count },
      ];
      sameJson(buildStatus('R4', { ...base, status: 'requested', type: 'handshake', eventsSinceSubscriptionStart: 0 }).parameter, head('requested', 'handshake', '0'));
      sameJson(buildStatus('R4', { ...base, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: 2 }).parameter, head('active', 'heartbeat', '2'));
      sameJson(buildStatus('R4', { ...base, status: 'error', type: 'query-status', eventsSinceSubscriptionStart: 3, error: [NO_RESPONSE] }).parameter, [
        ...head('error', 'query-status', '3'),
        { name: 'error', valueCodeableConcept: { coding: [NO_RESPONSE] } },
      ]);
    });

    it('writes every event with its context, in event order, for query-event', () => {
      const status = buildStatus('R4', {
        subscriptionUrl: SUB,
        status: 'active',
        type: 'query-event',
        eventsSinceSubscriptionStart: 9,
        events: [{ eventNumber: 8, focus: { reference: 'Encounter/1', type: 'Encounter' }, additionalContext: [{ reference: 'Patient/1' }, { reference: 'Location/2' }] }, { eventNumber: 9 }],
      });
      expect(r4(status).has('topic'), 'topic only when given').to.equal(false);
      expect(r4(status).get('notification-event')).to.deep.equal([
        {
          part: [
            { name: 'event-number', valueString: '8' },
            { name: 'focus', valueReference: { reference: 'Encounter/1', type: 'Encounter' } },
            { name: 'additional-context', valueReference: { reference: 'Patient/1' } },
            { name: 'additional-context', valueReference: { reference: 'Location/2' } },
          ],
        },
        { part: [{ name: 'event-number', valueString: '9' }] },
      ]);
    });

    it('writes an empty-content event with no focus or context (Inferno §7 item 8)', () => {
      const status = buildStatus('R4', { subscriptionUrl: SUB, status: 'active', type: 'event-notification', eventsSinceSubscriptionStart: 1, events: [{ eventNumber: 1, timestamp: TIMESTAMP }] });
      const [event] = r4(status).get('notification-event') as Array<{ part: Array<{ name: string }> }>;
      expect(event!.part.map((p) => p.name)).to.deep.equal(['event-number', 'timestamp']);
    });
  });

  describe('R4B and R5 (SubscriptionStatus)', () => {
    it('renders the R4B example member for member, in a history entry', () => {
      const status = buildStatus('R4B', {
        id: '3dd3c88d-1f7c-40ce-bf41-6b0d8186c311',
        subscriptionUrl: SUB,
        topic: TOPIC,
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: 2,
        events: [{ eventNumber: 2, timestamp: TIMESTAMP, focus: { reference: ENCOUNTER } }],
      });
      const example = {
        resourceType: 'SubscriptionStatus',
        id: '3dd3c88d-1f7c-40ce-bf41-6b0d8186c311',
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: '2',
        notificationEvent: [{ eventNumber: '2', timestamp: '2020-05-29T11:44:13.1882432-05:00', focus: { reference: 'https://example.org/fhir/Encounter/86009987-eabe-42bf-8c02-b112b18cb616' } }],
        subscription: { reference: 'https://example.org/fhir/Subscription/admission' },
        topic: 'http://hl7.org/SubscriptionTopic/admission',
      };
      sameJson(status, example);
      sameJson(statusEntry('R4B', status, SUB), {
        fullUrl: 'urn:uuid:3dd3c88d-1f7c-40ce-bf41-6b0d8186c311',
        resource: example,
        request: { method: 'GET', url: `${SUB}/$status` },
        response: { status: '200' },
      });
    });

    it('renders the R5 id-only example member for member, with integer64 counters as JSON strings and no request on the entry', () => {
      const status = buildStatus('R5', {
        id: 'c144782b-da2f-4125-a9e2-9fa4b9085a40',
        subscriptionUrl: 'https://example.org/fhir/Subscription/123',
        topic: 'http://example.org/FHIR/R5/SubscriptionTopic/admission',
        status: 'active',
        type: 'event-notification',
        eventsSinceSubscriptionStart: 2,
        events: [{ eventNumber: 2, timestamp: '2023-03-01T10:00:00Z', focus: { reference: 'https://example.org/fhir/Encounter/2' } }],
      });
      sameJson(statusEntry('R5', status, 'https://example.org/fhir/Subscription/123'), {
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
      });
    });

    it('puts context references and errors where the resource has them', () => {
      const status = buildStatus('R5', {
        id: 's',
        subscriptionUrl: SUB,
        status: 'error',
        type: 'query-event',
        eventsSinceSubscriptionStart: 4,
        events: [{ eventNumber: 4, focus: { reference: 'Encounter/1' }, additionalContext: [{ reference: 'Patient/1', type: 'Patient' }] }],
        error: [NO_RESPONSE],
      });
      expect(status.notificationEvent).to.deep.equal([{ eventNumber: '4', focus: { reference: 'Encounter/1' }, additionalContext: [{ reference: 'Patient/1', type: 'Patient' }] }]);
      expect(status.error).to.deep.equal([{ coding: [NO_RESPONSE] }]);
      expect(status).to.not.have.property('topic');
    });
  });

  describe('every version and notification type', () => {
    for (const version of VERSIONS) {
      for (const type of TYPES) {
        it(`${version} ${type}`, () => {
          const withEvents = type === 'event-notification' || type === 'query-event';
          const input: StatusInput = {
            subscriptionUrl: SUB,
            topic: TOPIC,
            status: type === 'handshake' ? 'requested' : 'active',
            type,
            eventsSinceSubscriptionStart: type === 'handshake' ? 0 : 5,
            ...(withEvents ? { events: [{ eventNumber: 5, timestamp: TIMESTAMP, focus: { reference: ENCOUNTER } }] } : {}),
          };
          const status = buildStatus(version, input);
          expect(status.id).to.match(UUID);
          if (version === 'R4') {
            const p = r4(status as R4StatusParameters);
            expect((status as R4StatusParameters).meta.profile).to.deep.equal([R4_STATUS_PROFILE]);
            expect(p.get('type')).to.deep.equal([{ valueCode: type }]);
            expect(p.get('status')).to.deep.equal([{ valueCode: input.status }]);
            expect(p.get('subscription')).to.deep.equal([{ valueReference: { reference: SUB } }]);
            expect(p.get('topic')).to.deep.equal([{ valueCanonical: TOPIC }]);
            expect(p.get('events-since-subscription-start')).to.deep.equal([{ valueString: String(input.eventsSinceSubscriptionStart) }]);
            expect(p.get('notification-event')?.length ?? 0).to.equal(withEvents ? 1 : 0);
          } else {
            const s = status as SubscriptionStatusResource;
            expect(s.resourceType).to.equal('SubscriptionStatus');
            expect(s).to.not.have.property('meta');
            expect(s.type).to.equal(type);
            expect(s.status).to.equal(input.status);
            expect(s.subscription).to.deep.equal({ reference: SUB });
            expect(s.topic).to.equal(TOPIC);
            expect(s.eventsSinceSubscriptionStart).to.equal(String(input.eventsSinceSubscriptionStart));
            if (withEvents) expect(s.notificationEvent).to.deep.equal([{ eventNumber: '5', timestamp: TIMESTAMP, focus: { reference: ENCOUNTER } }]);
            else expect(s).to.not.have.property('notificationEvent');
          }
          const entry = statusEntry(version, status, SUB);
          expect(entry.fullUrl).to.equal(`urn:uuid:${status.id}`);
          expect(entry.resource).to.equal(status);
          if (version === 'R5') expect(entry).to.have.keys('fullUrl', 'resource');
          else expect(entry).to.deep.include({ request: { method: 'GET', url: `${SUB}/$status` }, response: { status: '200' } });
        });
      }
    }
  });

  it('names each status freshly unless told an id', () => {
    const input: StatusInput = { subscriptionUrl: SUB, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: 0 };
    expect(buildStatus('R4', input).id).to.not.equal(buildStatus('R4', input).id);
    expect(buildStatus('R5', { ...input, id: 'fixed' }).id).to.equal('fixed');
  });

  it('says off for entered-in-error where R4 and R4B have no such code', () => {
    const input: StatusInput = { subscriptionUrl: SUB, status: 'entered-in-error', type: 'query-status', eventsSinceSubscriptionStart: 0 };
    expect(r4(buildStatus('R4', input)).get('status')).to.deep.equal([{ valueCode: 'off' }]);
    expect(buildStatus('R4B', input).status).to.equal('off');
    expect(buildStatus('R5', input).status).to.equal('entered-in-error');
  });

  it('refuses counters that are not non-negative integers', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => buildStatus('R4B', { subscriptionUrl: SUB, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: bad }), String(bad)).to.throw(RangeError);
      expect(() => buildStatus('R4', { subscriptionUrl: SUB, status: 'active', type: 'query-event', eventsSinceSubscriptionStart: 1, events: [{ eventNumber: bad }] }), String(bad)).to.throw(
        RangeError,
      );
    }
  });

  it('does not share reference objects with its input', () => {
    const focus = { reference: 'Encounter/1', type: 'Encounter', display: 'not a status member' } as { reference: string; type: string };
    const status = buildStatus('R5', { subscriptionUrl: SUB, status: 'active', type: 'event-notification', eventsSinceSubscriptionStart: 1, events: [{ eventNumber: 1, focus }] });
    expect(status.notificationEvent![0]!.focus).to.deep.equal({ reference: 'Encounter/1', type: 'Encounter' });
    expect(status.notificationEvent![0]!.focus).to.not.equal(focus);
  });

  it('keeps one slash before $status whatever the subscription URL ends with', () => {
    const status = buildStatus('R4', { subscriptionUrl: SUB, status: 'active', type: 'heartbeat', eventsSinceSubscriptionStart: 0 });
    expect(statusEntry('R4', status, `${SUB}/`).request!.url).to.equal(`${SUB}/$status`);
    expect(statusEntry('R4', status, 'Subscription/admission').request!.url, 'relative for dialects that want it').to.equal('Subscription/admission/$status');
  });

  describe('$status searchset', () => {
    const SELF = 'https://gw.example.org/fhir/Subscription/admission/$status';

    /** Inferno §7 item 13. */
    function infernoStatusChecks(bundle: ReturnType<typeof buildStatusSearchBundle>, id: string): void {
      expect(bundle.resourceType).to.equal('Bundle');
      expect(bundle.type).to.equal('searchset');
      const match = (bundle.entry ?? []).find((e) => {
        const resource = e.resource as StatusResource;
        if (resource.resourceType !== 'Parameters') return false;
        const sub = resource.parameter.find((p) => p.name === 'subscription');
        return sub !== undefined && 'valueReference' in sub && sub.valueReference.reference.endsWith(id);
      });
      expect(match, 'a Parameters entry whose subscription reference ends with the id').to.not.equal(undefined);
      expect((match!.resource as R4StatusParameters).meta.profile).to.include(R4_STATUS_PROFILE);
    }

    it('answers R4 with a searchset Inferno accepts', () => {
      const status = buildStatus('R4', { subscriptionUrl: SUB, topic: TOPIC, status: 'active', type: 'query-status', eventsSinceSubscriptionStart: 3 });
      const bundle = buildStatusSearchBundle('R4', [{ status, subscriptionUrl: SUB }], SELF);
      sameJson(bundle, {
        resourceType: 'Bundle',
        type: 'searchset',
        total: 1,
        link: [{ relation: 'self', url: SELF }],
        entry: [{ fullUrl: `urn:uuid:${status.id}`, resource: status, search: { mode: 'match' } }],
      });
      infernoStatusChecks(bundle, 'admission');
    });

    it('answers R4B and R5 with one SubscriptionStatus match per subscription, in order', () => {
      for (const version of ['R4B', 'R5'] as const) {
        const statuses = ['a', 'b'].map((id) => {
          const subscriptionUrl = `https://gw.example.org/fhir/Subscription/${id}`;
          return { status: buildStatus(version, { subscriptionUrl, status: 'active', type: 'query-status', eventsSinceSubscriptionStart: 0 }), subscriptionUrl };
        });
        const bundle = buildStatusSearchBundle(version, statuses, SELF);
        expect(bundle.total).to.equal(2);
        expect(bundle.entry!.map((e) => (e.resource as SubscriptionStatusResource).subscription.reference)).to.deep.equal(statuses.map((s) => s.subscriptionUrl));
        for (const e of bundle.entry!) {
          expect(e.search).to.deep.equal({ mode: 'match' });
          expect(e.fullUrl).to.equal(`urn:uuid:${e.resource!.id}`);
          expect(e).to.not.have.property('request');
        }
      }
    });

    it('answers no subscriptions with total 0 and no empty entry list', () => {
      expect(buildStatusSearchBundle('R4', [], SELF)).to.deep.equal({ resourceType: 'Bundle', type: 'searchset', total: 0, link: [{ relation: 'self', url: SELF }] });
    });

    it('refuses a status in another version’s shape', () => {
      const r4Status = buildStatus('R4', { subscriptionUrl: SUB, status: 'active', type: 'query-status', eventsSinceSubscriptionStart: 0 });
      const r5Status = buildStatus('R5', { subscriptionUrl: SUB, status: 'active', type: 'query-status', eventsSinceSubscriptionStart: 0 });
      expect(() => buildStatusSearchBundle('R5', [{ status: r4Status, subscriptionUrl: SUB }], SELF)).to.throw(TypeError);
      expect(() => buildStatusSearchBundle('R4', [{ status: r5Status, subscriptionUrl: SUB }], SELF)).to.throw(TypeError);
      expect(() => statusEntry('R4B', r4Status, SUB)).to.throw(TypeError);
    });
  });
});
