import { expect } from 'chai';
import { EXT_CHANNEL_TYPE, EXT_FILTER_CRITERIA, EXT_HEARTBEAT_PERIOD, EXT_MAX_COUNT, EXT_PAYLOAD_CONTENT, EXT_TIMEOUT } from '../../src/fhir/extensions.js';
import { parseJsonSubscription, parseSubscription, SubscriptionInvalid, withStatus, type ParseContext } from '../../src/fhir/subscription-parse.js';
import type { IssueCode } from '../../src/fhir/operation-outcome.js';
import { IMPLICIT_TOPIC_PREFIX } from '../../src/topics/topic.js';
import { TOPICS } from './fixtures/topics.js';

const NOW = new Date('2020-06-01T00:00:00Z');
const R4: ParseContext = { fhirVersion: 'R4', topics: TOPICS, now: NOW };
const R4B: ParseContext = { fhirVersion: 'R4B', topics: TOPICS, now: NOW };
const R5: ParseContext = { fhirVersion: 'R5', topics: TOPICS, now: NOW };

const filter = (valueString: string, url = EXT_FILTER_CRITERIA) => ({ url, valueString });

/** The IG's BackportSubscriptionExampleAdmission, on the websocket channel. */
function igExample() {
  return {
    resourceType: 'Subscription',
    id: 'subscription-admission',
    meta: { versionId: '1' },
    status: 'active',
    end: '2020-12-31T12:00:00Z',
    reason: 'R4/B Example Topic-Based Subscription for Patient Admission',
    criteria: 'http://hl7.org/SubscriptionTopic/admission',
    _criteria: { extension: [filter('Encounter?patient=Patient/123')] },
    channel: {
      extension: [
        { url: EXT_HEARTBEAT_PERIOD, valueUnsignedInt: 86400 } as Record<string, unknown> & { url: string },
        { url: EXT_TIMEOUT, valueUnsignedInt: 60 },
        { url: EXT_MAX_COUNT, valuePositiveInt: 20 },
      ],
      type: 'websocket',
      endpoint: 'https://example.org/Endpoints/d7dcc004-808d-452b-8030-3a3a13cd871d',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: EXT_PAYLOAD_CONTENT, valueCode: 'id-only' }] },
    },
  };
}

function r5Example() {
  return {
    resourceType: 'Subscription',
    id: 'r5-admission',
    status: 'requested',
    topic: 'http://hl7.org/SubscriptionTopic/admission',
    filterBy: [{ resourceType: 'Encounter', filterParameter: 'length', comparator: 'gt', value: '10' } as Record<string, string>, { filterParameter: 'patient', modifier: 'missing', value: 'false' }],
    channelType: { system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type', code: 'websocket' } as Record<string, string>,
    content: 'full-resource',
    contentType: 'application/fhir+json',
    heartbeatPeriod: 30,
    timeout: 10,
    maxCount: 5,
  };
}

/** What @medplum/core's SubscriptionManager creates (criteria for one Communication recipient). */
const MEDPLUM = {
  resourceType: 'Subscription',
  status: 'active',
  reason: 'WebSocket subscription for Practitioner/123',
  channel: { type: 'websocket' },
  criteria: 'Communication?recipient=Practitioner/123',
};

function rejection(input: unknown, ctx: ParseContext): SubscriptionInvalid {
  try {
    parseSubscription(input, ctx);
  } catch (err) {
    expect(err).to.be.instanceOf(SubscriptionInvalid);
    return err as SubscriptionInvalid;
  }
  throw new Error('expected the Subscription to be refused');
}

function expectRejected(input: unknown, ctx: ParseContext, status: 400 | 422, code: IssueCode, expression: string, message: string | RegExp): void {
  const err = rejection(input, ctx);
  expect({ status: err.status, code: err.code, expression: err.expression }).to.deep.equal({ status, code, expression: [expression] });
  if (typeof message === 'string') expect(err.message).to.include(message);
  else expect(err.message).to.match(message);
}

describe('parseSubscription', () => {
  describe('R4 backport', () => {
    it('reads the IG example (on websocket) into the model', () => {
      expect(parseSubscription(igExample(), R4)).to.deep.equal({
        id: 'subscription-admission',
        status: 'active',
        topic: 'http://hl7.org/SubscriptionTopic/admission',
        filters: [{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' }],
        channelType: 'websocket',
        endpoint: 'https://example.org/Endpoints/d7dcc004-808d-452b-8030-3a3a13cd871d',
        content: 'id-only',
        contentType: 'application/fhir+json',
        notificationVersion: 'R4',
        heartbeatPeriod: 86400,
        timeout: 60,
        maxCount: 20,
        end: '2020-12-31T12:00:00Z',
      });
    });

    for (const text of ['Encounter?patient=Patient/123', 'Encounter.patient=Patient/123', 'patient=Patient/123']) {
      it(`reads the filter form ${text}`, () => {
        const s = { ...igExample(), _criteria: { extension: [filter(text)] } };
        expect(parseSubscription(s, R4).filters).to.deep.equal([{ resourceType: 'Encounter', parameter: 'patient', value: 'Patient/123' }]);
      });
    }

    it('ANDs several filter extensions and several &-joined parameters, with modifiers and comparators', () => {
      const s = {
        ...igExample(),
        _criteria: { extension: [filter('Encounter?patient:missing=false&status=finished'), { url: 'http://example.org/other', valueString: 'x' }, filter('length=ge30')] },
      };
      expect(parseSubscription(s, R4).filters).to.deep.equal([
        { resourceType: 'Encounter', parameter: 'patient', modifier: 'missing', value: 'false' },
        { resourceType: 'Encounter', parameter: 'status', value: 'finished' },
        { resourceType: 'Encounter', parameter: 'length', comparator: 'ge', value: '30' },
      ]);
    });

    it('takes a topic canonical with |version', () => {
      const s = { ...igExample(), criteria: 'http://hl7.org/SubscriptionTopic/admission|1.0' };
      expect(parseSubscription(s, R4).topic).to.equal('http://hl7.org/SubscriptionTopic/admission|1.0');
    });

    it('chooses R4B notifications with fhirVersion=4.3, and R4 with 4.0', () => {
      const with43 = { ...igExample(), channel: { ...igExample().channel, payload: 'application/fhir+json;fhirVersion=4.3' } };
      expect(parseSubscription(with43, R4)).to.include({ notificationVersion: 'R4B', contentType: 'application/fhir+json' });
      expect(parseSubscription(with43, R4B)).to.include({ notificationVersion: 'R4B' });
      const with40 = { ...igExample(), channel: { ...igExample().channel, payload: 'application/json; fhirVersion=4.0' } };
      expect(parseSubscription(with40, R4B)).to.include({ notificationVersion: 'R4', contentType: 'application/json' });
      expect(parseSubscription(igExample(), R4B)).to.include({ notificationVersion: 'R4B' });
    });

    it('reads an R4B-style topic (comparators among the modifiers)', () => {
      const s = { ...igExample(), criteria: 'http://example.org/topics/encounter-complete', _criteria: { extension: [filter('Encounter.length=gt10'), filter('patient:in=http://x/ValueSet/y')] } };
      expect(parseSubscription(s, R4B).filters).to.deep.equal([
        { resourceType: 'Encounter', parameter: 'length', comparator: 'gt', value: '10' },
        { resourceType: 'Encounter', parameter: 'patient', modifier: 'in', value: 'http://x/ValueSet/y' },
      ]);
    });

    it('accepts a minimal websocket subscription: no payload means FHIR JSON, id-only, no heartbeats', () => {
      const s = { resourceType: 'Subscription', status: 'requested', criteria: 'http://hl7.org/SubscriptionTopic/admission', channel: { type: 'websocket' } };
      expect(parseSubscription(s, R4)).to.deep.equal({
        status: 'requested',
        topic: 'http://hl7.org/SubscriptionTopic/admission',
        filters: [],
        channelType: 'websocket',
        content: 'id-only',
        contentType: 'application/fhir+json',
        notificationVersion: 'R4',
      });
    });

    it('takes the content extension without a payload MIME type', () => {
      const s = {
        resourceType: 'Subscription',
        status: 'off',
        criteria: 'urn:example:topic',
        channel: { type: 'websocket', _payload: { extension: [{ url: EXT_PAYLOAD_CONTENT, valueCode: 'empty' }] } },
      };
      expect(parseSubscription(s, { ...R4, topics: { get: (c) => (c === 'urn:example:topic' ? TOPICS.get('http://hl7.org/SubscriptionTopic/admission') : undefined) } })).to.include({
        content: 'empty',
        topic: 'urn:example:topic',
        status: 'off',
      });
    });
  });

  describe('classic R4 criteria', () => {
    it("reads Medplum's exact body: implicit topic, full-resource, FHIR JSON", () => {
      expect(parseSubscription(MEDPLUM, R4)).to.deep.equal({
        status: 'active',
        topic: `${IMPLICIT_TOPIC_PREFIX}Communication`,
        criteria: 'Communication?recipient=Practitioner/123',
        filters: [{ resourceType: 'Communication', parameter: 'recipient', value: 'Practitioner/123' }],
        channelType: 'websocket',
        content: 'full-resource',
        contentType: 'application/fhir+json',
        notificationVersion: 'R4',
      });
    });

    it('reads a bare type and an encoded token criteria, leaving prefixes in values', () => {
      expect(parseSubscription({ ...MEDPLUM, criteria: 'Patient' }, R4)).to.include({ topic: `${IMPLICIT_TOPIC_PREFIX}Patient`, criteria: 'Patient' });
      const obs = parseSubscription({ ...MEDPLUM, criteria: 'Observation?code=http://loinc.org%7C1234-5&value-quantity=gt5&_lastUpdated=ge2020' }, R4B);
      expect(obs.filters).to.deep.equal([
        { resourceType: 'Observation', parameter: 'code', value: 'http://loinc.org|1234-5' },
        { resourceType: 'Observation', parameter: 'value-quantity', value: 'gt5' },
        { resourceType: 'Observation', parameter: '_lastUpdated', value: 'ge2020' },
      ]);
    });

    it('honours a content extension and payload on classic criteria', () => {
      const s = { ...MEDPLUM, channel: { type: 'websocket', payload: 'application/fhir+json', _payload: { extension: [{ url: EXT_PAYLOAD_CONTENT, valueCode: 'id-only' }] } } };
      expect(parseSubscription(s, R4)).to.include({ content: 'id-only' });
    });

    it('checks the resource type against the known types when given', () => {
      const ctx = { ...R4, knownResourceTypes: new Set(['Patient', 'Communication']) };
      expect(parseSubscription(MEDPLUM, ctx).topic).to.equal(`${IMPLICIT_TOPIC_PREFIX}Communication`);
      expectRejected({ ...MEDPLUM, criteria: 'Patients?name=x' }, ctx, 422, 'not-supported', 'Subscription.criteria', "criteria names 'Patients', which is not a resource type");
    });

    for (const control of ['_format=json', '_count=10', '_sort=date', '_include=Observation:subject']) {
      it(`refuses the result parameter ${control.split('=')[0]}`, () => {
        expectRejected({ ...MEDPLUM, criteria: `Observation?${control}` }, R4, 422, 'not-supported', 'Subscription.criteria', 'shapes search results');
      });
    }

    it('refuses criteria that are neither a canonical nor a search', () => {
      expectRejected({ ...MEDPLUM, criteria: 'patient?name=x' }, R4, 422, 'value', 'Subscription.criteria', /neither a topic canonical URL .* nor a search/);
      expectRejected({ ...MEDPLUM, criteria: 'Observation?code' }, R4, 422, 'value', 'Subscription.criteria', "'code' is not name=value");
    });

    it('refuses filter-criteria extensions on classic criteria', () => {
      expectRejected({ ...MEDPLUM, _criteria: { extension: [filter('patient=Patient/1')] } }, R4, 422, 'not-supported', 'Subscription.criteria.extension[0]', 'topic-based');
    });
  });

  describe('R5', () => {
    it('reads filterBy with a comparator and a modifier, and every channel element', () => {
      expect(parseSubscription(r5Example(), R5)).to.deep.equal({
        id: 'r5-admission',
        status: 'requested',
        topic: 'http://hl7.org/SubscriptionTopic/admission',
        filters: [
          { resourceType: 'Encounter', parameter: 'length', comparator: 'gt', value: '10' },
          { resourceType: 'Encounter', parameter: 'patient', modifier: 'missing', value: 'false' },
        ],
        channelType: 'websocket',
        content: 'full-resource',
        contentType: 'application/fhir+json',
        notificationVersion: 'R5',
        heartbeatPeriod: 30,
        timeout: 10,
        maxCount: 5,
      });
    });

    it('defaults content to id-only and contentType to FHIR JSON, and keeps endpoint and end', () => {
      const s = {
        resourceType: 'Subscription',
        status: 'active',
        topic: 'http://hl7.org/SubscriptionTopic/admission',
        channelType: { code: 'websocket' },
        endpoint: 'wss://example.org/ws',
        end: '2021-01-01T00:00:00+01:00',
      };
      expect(parseSubscription(s, R5)).to.deep.equal({
        status: 'active',
        topic: 'http://hl7.org/SubscriptionTopic/admission',
        filters: [],
        channelType: 'websocket',
        endpoint: 'wss://example.org/ws',
        content: 'id-only',
        contentType: 'application/fhir+json',
        notificationVersion: 'R5',
        end: '2021-01-01T00:00:00+01:00',
      });
    });

    it('takes fhirVersion=5.0 and refuses 4.3', () => {
      expect(parseSubscription({ ...r5Example(), contentType: 'application/fhir+json; fhirVersion=5.0' }, R5).notificationVersion).to.equal('R5');
      expectRejected({ ...r5Example(), contentType: 'application/fhir+json; fhirVersion=4.3' }, R5, 422, 'not-supported', 'Subscription.contentType', 'fhirVersion=4.3 is not offered');
    });

    it('refuses a filterBy with both a comparator and a modifier', () => {
      const s = { ...r5Example(), filterBy: [{ filterParameter: 'length', comparator: 'gt', modifier: 'missing', value: '10' }] };
      expectRejected(s, R5, 422, 'invariant', 'Subscription.filterBy[0]', 'a comparator or a modifier, not both');
    });

    it('refuses filterBy codes outside the R5 lists and missing parts', () => {
      expectRejected({ ...r5Example(), filterBy: [{ filterParameter: 'length', comparator: 'gte', value: '1' }] }, R5, 422, 'value', 'Subscription.filterBy[0].comparator', "comparator 'gte'");
      expectRejected(
        { ...r5Example(), filterBy: [{ filterParameter: 'patient', modifier: 'sounds-like', value: '1' }] },
        R5,
        422,
        'value',
        'Subscription.filterBy[0].modifier',
        "modifier 'sounds-like'",
      );
      expectRejected({ ...r5Example(), filterBy: [{ value: '1' }] }, R5, 400, 'required', 'Subscription.filterBy[0].filterParameter', 'filterParameter is required');
      expectRejected({ ...r5Example(), filterBy: [{ filterParameter: 'patient' }] }, R5, 400, 'required', 'Subscription.filterBy[0].value', 'value is required');
      expectRejected({ ...r5Example(), filterBy: {} }, R5, 400, 'structure', 'Subscription.filterBy', 'must be a JSON array');
    });

    it('refuses a filterBy the topic does not allow', () => {
      expectRejected({ ...r5Example(), filterBy: [{ filterParameter: 'subject', value: 'x' }] }, R5, 422, 'not-supported', 'Subscription.filterBy[0]', "does not allow filtering by 'subject'");
      expectRejected(
        { ...r5Example(), filterBy: [{ filterParameter: 'patient', comparator: 'gt', value: 'x' }] },
        R5,
        422,
        'not-supported',
        'Subscription.filterBy[0]',
        "comparator 'gt' is not allowed on 'patient'",
      );
      expectRejected(
        { ...r5Example(), filterBy: [{ resourceType: 'Observation', filterParameter: 'patient', value: 'x' }] },
        R5,
        422,
        'not-supported',
        'Subscription.filterBy[0]',
        "resource type 'Observation' is not one topic",
      );
    });

    it('refuses other channel types, custom systems, and a missing channelType', () => {
      for (const code of ['rest-hook', 'email', 'message']) {
        expectRejected({ ...r5Example(), channelType: { code } }, R5, 422, 'not-supported', 'Subscription.channelType.code', `channel type ${code} is not supported; supported: websocket`);
      }
      expectRejected(
        { ...r5Example(), channelType: { system: 'http://example.org/channels', code: 'websocket' } },
        R5,
        422,
        'not-supported',
        'Subscription.channelType.system',
        'custom channel types',
      );
      const { channelType: _, ...noChannel } = r5Example();
      expectRejected(noChannel, R5, 400, 'required', 'Subscription.channelType', 'channelType is required');
    });

    it('refuses bad content, contentType, heartbeatPeriod, timeout and maxCount', () => {
      expectRejected({ ...r5Example(), content: 'everything' }, R5, 422, 'value', 'Subscription.content', "content 'everything'");
      expectRejected({ ...r5Example(), contentType: 'application/fhir+xml' }, R5, 422, 'not-supported', 'Subscription.contentType', "'application/fhir+xml' are not supported");
      expectRejected({ ...r5Example(), heartbeatPeriod: '30' }, R5, 400, 'structure', 'Subscription.heartbeatPeriod', 'must be a JSON number');
      expectRejected({ ...r5Example(), heartbeatPeriod: 0 }, R5, 422, 'value', 'Subscription.heartbeatPeriod', 'at least 1');
      expectRejected({ ...r5Example(), timeout: -1 }, R5, 400, 'value', 'Subscription.timeout', 'unsignedInt');
      expectRejected({ ...r5Example(), maxCount: 0 }, R5, 400, 'value', 'Subscription.maxCount', 'positiveInt');
      expectRejected({ ...r5Example(), maxCount: 1.5 }, R5, 400, 'value', 'Subscription.maxCount', 'positiveInt');
    });

    it('refuses an unknown or missing topic', () => {
      expectRejected({ ...r5Example(), topic: 'http://example.org/nope' }, R5, 422, 'not-supported', 'Subscription.topic', 'unknown topic http://example.org/nope');
      const { topic: _, ...noTopic } = r5Example();
      expectRejected(noTopic, R5, 400, 'required', 'Subscription.topic', 'topic is required');
    });

    it('refuses an R4 body on an R5 server, naming the problem', () => {
      expectRejected(igExample(), R5, 400, 'structure', 'Subscription.criteria', 'element of the R4 Subscription, but this server is FHIR R5');
      expectRejected({ ...r5Example(), channel: { type: 'websocket' } }, R5, 400, 'structure', 'Subscription.channel', 'R4 Subscription');
    });
  });

  describe('rejections (R4/R4B)', () => {
    it('refuses an unknown topic', () => {
      expectRejected({ ...igExample(), criteria: 'http://example.org/unknown-topic' }, R4, 422, 'not-supported', 'Subscription.criteria', 'unknown topic http://example.org/unknown-topic');
    });

    it('refuses a retired topic', () => {
      expectRejected({ ...igExample(), criteria: 'http://example.org/topics/old', _criteria: undefined }, R4, 422, 'not-supported', 'Subscription.criteria', 'is retired');
    });

    it('refuses a filter on a parameter the topic does not offer, naming the allowed ones', () => {
      const s = { ...igExample(), _criteria: { extension: [filter('Encounter.patient=Patient/123'), filter('subject=Patient/123')] } };
      expectRejected(s, R4, 422, 'not-supported', 'Subscription.criteria.extension[1]', "'subject'; allowed: Encounter.patient, Encounter.length, Encounter.status");
    });

    it('refuses a modifier the topic does not offer', () => {
      const s = { ...igExample(), _criteria: { extension: [filter('patient:not=Patient/123')] } };
      expectRejected(s, R4, 422, 'not-supported', 'Subscription.criteria.extension[0]', "modifier ':not' is not allowed on 'patient'");
    });

    it('refuses a filter on a resource type the topic does not trigger on', () => {
      const s = { ...igExample(), _criteria: { extension: [filter('Observation?patient=Patient/123')] } };
      expectRejected(s, R4, 422, 'not-supported', 'Subscription.criteria.extension[0]', "resource type 'Observation'");
    });

    it('refuses an unreadable filter string and a filter without valueString', () => {
      expectRejected({ ...igExample(), _criteria: { extension: [filter('patient')] } }, R4, 422, 'value', 'Subscription.criteria.extension[0]', "filter 'patient' cannot be read");
      expectRejected(
        { ...igExample(), _criteria: { extension: [{ url: EXT_FILTER_CRITERIA, valueCode: 'x' }] } },
        R4,
        400,
        'structure',
        'Subscription.criteria.extension[0]',
        'must carry valueString, not valueCode',
      );
    });

    it('refuses the cross-version filter-criteria extension (Inferno)', () => {
      const s = { ...igExample(), _criteria: { extension: [filter('Encounter.patient=Patient/123', 'http://hl7.org/fhir/5.0/subscriptions-backport/StructureDefinition/backport-filter-criteria')] } };
      expectRejected(s, R4, 422, 'not-supported', 'Subscription.criteria.extension', 'cross-version');
      const other = { ...igExample(), _criteria: { extension: [filter('x=y', 'http://hl7.org/fhir/4.3/subscriptions-backport/StructureDefinition/anything')] } };
      expectRejected(other, R4B, 422, 'not-supported', 'Subscription.criteria.extension', 'cross-version');
    });

    for (const type of ['rest-hook', 'email', 'sms', 'message']) {
      it(`refuses channel type ${type}`, () => {
        const s = { ...igExample(), channel: { ...igExample().channel, type } };
        expectRejected(s, R4, 422, 'not-supported', 'Subscription.channel.type', `channel type ${type} is not supported; supported: websocket`);
      });
    }

    it('refuses a custom channel (backport-channel-type)', () => {
      const s = {
        ...igExample(),
        channel: { ...igExample().channel, _type: { extension: [{ url: EXT_CHANNEL_TYPE, valueCoding: { system: 'http://example.org/channels', code: 'zulip' } }] } },
      };
      expectRejected(s, R4, 422, 'not-supported', `Subscription.channel.type.extension('${EXT_CHANNEL_TYPE}')`, 'custom channel types are not supported');
    });

    it('refuses a missing channel or channel type', () => {
      const { channel: _, ...noChannel } = igExample();
      expectRejected(noChannel, R4, 400, 'required', 'Subscription.channel', 'channel is required');
      expectRejected({ ...igExample(), channel: {} }, R4, 400, 'required', 'Subscription.channel.type', 'channel.type is required');
      expectRejected({ ...igExample(), channel: 'websocket' }, R4, 400, 'structure', 'Subscription.channel', 'must be a JSON object');
    });

    it('refuses an XML payload and other MIME types', () => {
      for (const payload of ['application/fhir+xml', 'application/xml', 'text/html']) {
        const s = { ...igExample(), channel: { ...igExample().channel, payload } };
        expectRejected(s, R4, 422, 'not-supported', 'Subscription.channel.payload', 'are not supported; supported: application/fhir+json, application/json');
      }
    });

    it('refuses a fhirVersion the server does not offer', () => {
      for (const payload of ['application/fhir+json; fhirVersion=5.0', 'application/fhir+json; fhirVersion=3.0', 'application/fhir+json; fhirVersion=four']) {
        const s = { ...igExample(), channel: { ...igExample().channel, payload } };
        expectRejected(s, R4, 422, 'not-supported', 'Subscription.channel.payload', 'is not offered by this R4 server; offered: 4.0, 4.3');
      }
    });

    it('refuses a bad content code', () => {
      const s = { ...igExample(), channel: { ...igExample().channel, _payload: { extension: [{ url: EXT_PAYLOAD_CONTENT, valueCode: 'full' }] } } };
      expectRejected(s, R4, 422, 'value', `Subscription.channel.payload.extension('${EXT_PAYLOAD_CONTENT}')`, "content 'full' is not one of empty, id-only, full-resource");
    });

    it('refuses channel extensions of the wrong type or value', () => {
      const withExtension = (extension: Record<string, unknown> & { url: string }) => ({ ...igExample(), channel: { ...igExample().channel, extension: [extension] } });
      const hb = `Subscription.channel.extension('${EXT_HEARTBEAT_PERIOD}')`;
      expectRejected(withExtension({ url: EXT_HEARTBEAT_PERIOD, valueUnsignedInt: '60' }), R4, 400, 'structure', hb, 'must carry valueUnsignedInt, not a JSON string');
      expectRejected(withExtension({ url: EXT_HEARTBEAT_PERIOD, valueInteger: 60 }), R4, 400, 'structure', hb, 'must carry valueUnsignedInt, not valueInteger');
      expectRejected(withExtension({ url: EXT_HEARTBEAT_PERIOD, valueUnsignedInt: 0 }), R4, 422, 'value', hb, 'at least 1 second');
      expectRejected(withExtension({ url: EXT_HEARTBEAT_PERIOD, valueUnsignedInt: 2.5 }), R4, 400, 'value', hb, 'unsignedInt');
      expectRejected(withExtension({ url: EXT_TIMEOUT, valuePositiveInt: 5 }), R4, 400, 'structure', `Subscription.channel.extension('${EXT_TIMEOUT}')`, 'valueUnsignedInt');
      expectRejected(withExtension({ url: EXT_MAX_COUNT, valuePositiveInt: 0 }), R4, 400, 'value', `Subscription.channel.extension('${EXT_MAX_COUNT}')`, 'positiveInt');
      const twice = {
        ...igExample(),
        channel: {
          ...igExample().channel,
          extension: [
            { url: EXT_TIMEOUT, valueUnsignedInt: 1 },
            { url: EXT_TIMEOUT, valueUnsignedInt: 2 },
          ],
        },
      };
      expectRejected(twice, R4, 400, 'structure', `Subscription.channel.extension('${EXT_TIMEOUT}')`, 'given 2 times');
    });

    it('accepts a timeout of 0 (unsignedInt)', () => {
      const s = { ...igExample(), channel: { ...igExample().channel, extension: [{ url: EXT_TIMEOUT, valueUnsignedInt: 0 }] } };
      expect(parseSubscription(s, R4).timeout).to.equal(0);
    });

    it('refuses an R5 body on an R4 server, naming the problem', () => {
      expectRejected(r5Example(), R4, 400, 'structure', 'Subscription.topic', 'element of the R5 Subscription, but this server is FHIR R4');
      expectRejected({ ...igExample(), heartbeatPeriod: 60 }, R4B, 400, 'structure', 'Subscription.heartbeatPeriod', 'this server is FHIR R4B');
    });

    it('refuses a missing criteria', () => {
      const { criteria: _, ...noCriteria } = igExample();
      expectRejected(noCriteria, R4, 400, 'required', 'Subscription.criteria', 'criteria is required');
    });

    it('refuses a modifierExtension it does not understand', () => {
      expectRejected(
        { ...igExample(), modifierExtension: [{ url: 'http://example.org/mod', valueBoolean: true }] },
        R4,
        422,
        'not-supported',
        'Subscription.modifierExtension',
        'http://example.org/mod',
      );
    });
  });

  describe('common rules', () => {
    for (const ctx of [R4, R5]) {
      const body = () => (ctx.fhirVersion === 'R5' ? r5Example() : igExample());

      it(`${ctx.fhirVersion}: refuses status error and entered-in-error as the server's to set`, () => {
        for (const status of ['error', 'entered-in-error']) {
          expectRejected({ ...body(), status }, ctx, 422, 'value', 'Subscription.status', `status ${status} is set by the server`);
        }
      });

      it(`${ctx.fhirVersion}: refuses a missing or unknown status`, () => {
        const { status: _, ...noStatus } = body();
        expectRejected(noStatus, ctx, 400, 'required', 'Subscription.status', 'status is required');
        expectRejected({ ...body(), status: 'on' }, ctx, 400, 'value', 'Subscription.status', "status 'on' is not a Subscription status");
        expectRejected({ ...body(), status: 1 }, ctx, 400, 'structure', 'Subscription.status', 'must be a JSON string');
      });

      it(`${ctx.fhirVersion}: keeps requested, active and off as asked`, () => {
        for (const status of ['requested', 'active', 'off'] as const) expect(parseSubscription({ ...body(), status }, ctx).status).to.equal(status);
      });

      it(`${ctx.fhirVersion}: refuses an end in the past or not an instant`, () => {
        expectRejected({ ...body(), end: '2020-01-01T00:00:00Z' }, ctx, 422, 'value', 'Subscription.end', 'end 2020-01-01T00:00:00Z is in the past');
        expectRejected({ ...body(), end: '2020-06-01T00:00:00Z' }, ctx, 422, 'value', 'Subscription.end', 'in the past');
        for (const end of ['tomorrow', '2021-02-30T00:00:00Z', '2021-01-01T10:00:00', '2021-01-01T25:00:00Z']) {
          expectRejected({ ...body(), end }, ctx, 400, 'value', 'Subscription.end', 'is not a FHIR instant');
        }
        expect(parseSubscription({ ...body(), end: '2020-06-01T00:00:00.001Z' }, ctx).end).to.equal('2020-06-01T00:00:00.001Z');
      });

      it(`${ctx.fhirVersion}: refuses a body that is not a Subscription object`, () => {
        expectRejected({ ...body(), resourceType: 'Patient' }, ctx, 400, 'invalid', 'Subscription.resourceType', "resourceType must be 'Subscription', not 'Patient'");
        const { resourceType: _, ...untyped } = body();
        expectRejected(untyped, ctx, 400, 'invalid', 'Subscription.resourceType', "resourceType must be 'Subscription', it is missing");
        for (const input of [null, 'Subscription', 42, [body()], undefined]) {
          expectRejected(input, ctx, 400, 'structure', 'Subscription', 'must be a JSON object');
        }
      });

      it(`${ctx.fhirVersion}: refuses a malformed id and passes a good one through`, () => {
        expectRejected({ ...body(), id: 'a/b' }, ctx, 400, 'value', 'Subscription.id', 'not a FHIR id');
        expect(parseSubscription({ ...body(), id: 'abc-1.2' }, ctx).id).to.equal('abc-1.2');
      });

      it(`${ctx.fhirVersion}: uses the current time when no clock is given`, () => {
        const { now: _, ...clockless } = ctx;
        expectRejected({ ...body(), end: '2021-01-01T00:00:00Z' }, clockless, 422, 'value', 'Subscription.end', 'in the past');
      });
    }
  });

  describe('parseJsonSubscription', () => {
    it('parses the body text', () => {
      expect(parseJsonSubscription(JSON.stringify(MEDPLUM), R4).criteria).to.equal(MEDPLUM.criteria);
    });

    it('turns broken JSON into 400 structure', () => {
      const err = (() => {
        try {
          parseJsonSubscription('{"resourceType": "Subscription",', R4);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(SubscriptionInvalid);
      expect(err).to.include({ status: 400, code: 'structure' });
      expect((err as SubscriptionInvalid).message).to.match(/^the body is not valid JSON: /);
      expect((err as SubscriptionInvalid).toOutcome()).to.deep.equal({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'structure', diagnostics: (err as SubscriptionInvalid).message, expression: ['Subscription'] }],
      });
    });
  });

  describe('withStatus', () => {
    it('sets status and changes nothing else, leaving the input untouched', () => {
      const input = igExample();
      const out = withStatus(input, 'requested');
      expect(out).to.deep.equal({ ...igExample(), status: 'requested' });
      expect(Object.keys(out)).to.deep.equal(Object.keys(input));
      expect(input.status).to.equal('active');
      expect(out.channel).to.equal(input.channel);
    });
  });

  describe('garbage in', () => {
    const shapes: unknown[] = [
      { resourceType: 'Subscription', status: 'active', criteria: 5, channel: { type: 'websocket' } },
      { resourceType: 'Subscription', status: 'active', criteria: 'http://hl7.org/SubscriptionTopic/admission', _criteria: [], channel: { type: 'websocket' } },
      { resourceType: 'Subscription', status: 'active', criteria: 'http://hl7.org/SubscriptionTopic/admission', _criteria: { extension: [null] }, channel: { type: 'websocket' } },
      { resourceType: 'Subscription', status: 'active', criteria: 'http://hl7.org/SubscriptionTopic/admission', _criteria: { extension: [{ valueString: 'x' }] }, channel: { type: 'websocket' } },
      { resourceType: 'Subscription', status: 'active', criteria: 'Patient', channel: { type: 'websocket', extension: 'x' } },
      { resourceType: 'Subscription', status: 'active', criteria: 'Patient', channel: { type: 'websocket', _payload: { extension: [{ url: EXT_PAYLOAD_CONTENT, valueCode: null }] } } },
      { resourceType: 'Subscription', status: 'active', criteria: 'Patient', channel: { type: ['websocket'] } },
    ];
    const r5Shapes: unknown[] = [
      { resourceType: 'Subscription', status: 'active', topic: 'http://hl7.org/SubscriptionTopic/admission', channelType: 'websocket' },
      { resourceType: 'Subscription', status: 'active', topic: 'http://hl7.org/SubscriptionTopic/admission', channelType: { code: 'websocket' }, filterBy: [null] },
      { resourceType: 'Subscription', status: 'active', topic: 'http://hl7.org/SubscriptionTopic/admission', channelType: { code: 'websocket' }, filterBy: [{ filterParameter: 1, value: 'x' }] },
    ];

    it('throws only SubscriptionInvalid (400) for JSON of the wrong shape', () => {
      for (const input of shapes) expect(rejection(input, R4).status, JSON.stringify(input)).to.equal(400);
      for (const input of r5Shapes) expect(rejection(input, R5).status, JSON.stringify(input)).to.equal(400);
    });
  });
});
