import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import {
  augmentCapabilityStatement,
  BACKPORT_SUBSCRIPTION_PROFILE,
  CapabilityStatementError,
  type CapabilityOptions,
  type CapabilityStatementJson,
  type RestJson,
  type RestResourceJson,
} from '../../src/fhir/capability.js';
import { EXT_CAPABILITY_WEBSOCKET as WEBSOCKET_EXTENSION, EXT_TOPIC_CANONICAL as TOPIC_CANONICAL_EXTENSION } from '../../src/fhir/extensions.js';
import { FHIR_VERSION_STRING } from '../../src/fhir/versions.js';
import { IMPLICIT_TOPIC_PREFIX } from '../../src/topics/topic.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport';
const UPSTREAM = 'http://hapi.internal:8080/fhir';
const TOPICS = ['http://example.org/SubscriptionTopic/encounter-complete', 'http://hl7.org/SubscriptionTopic/admission'];
const VERSIONS: FhirVersion[] = ['R4', 'R4B', 'R5'];

const options = (version: FhirVersion, topicUrls = TOPICS): CapabilityOptions => ({
  version,
  topicUrls,
  websocketUrl: 'wss://gw.example.org/ws',
  publicBaseUrl: 'https://gw.example.org/fhir',
});

/** A HAPI-like CapabilityStatement that already knows Subscription (classic R4 style). */
function realistic(version: FhirVersion): Record<string, unknown> {
  const resource: Record<string, unknown>[] = [
    {
      type: 'Patient',
      profile: 'http://hl7.org/fhir/StructureDefinition/Patient',
      interaction: [{ code: 'read' }, { code: 'search-type' }],
      searchParam: [{ name: 'name', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/individual-given' }],
    },
    {
      type: 'Subscription',
      profile: 'http://hl7.org/fhir/StructureDefinition/Subscription',
      extension: [
        { url: TOPIC_CANONICAL_EXTENSION, valueCanonical: 'http://upstream.example/SubscriptionTopic/its-own' },
        { url: 'http://example.org/fhir/StructureDefinition/vendor-flag', valueBoolean: true },
      ],
      interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map((code) => ({ code })),
      versioning: 'versioned-update',
      searchParam: [
        { name: 'status', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-status', documentation: 'The current state of the subscription' },
        { name: 'criteria', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-criteria' },
      ],
      operation: [
        { name: '$validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
        { name: '$status', definition: 'http://upstream.example/OperationDefinition/its-own-status' },
        { name: 'legacy-events', definition: `${BACKPORT}/OperationDefinition/backport-subscription-events` },
      ],
    },
  ];
  if (version === 'R4') {
    resource.push({
      type: 'Basic',
      interaction: [{ code: 'read' }, { code: 'create' }],
      searchParam: [{ name: 'code', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Basic-code', documentation: 'Kind of Resource' }],
    });
  } else {
    resource.push({ type: 'SubscriptionTopic', interaction: [{ code: 'create' }, { code: 'read' }] });
  }
  return {
    resourceType: 'CapabilityStatement',
    id: 'upstream',
    url: `${UPSTREAM}/metadata`,
    status: 'active',
    date: '2026-01-01T00:00:00Z',
    publisher: 'Upstream Org',
    kind: 'instance',
    software: { name: 'HAPI FHIR Server', version: '7.0.0' },
    implementation: { description: 'HAPI FHIR', url: UPSTREAM },
    fhirVersion: FHIR_VERSION_STRING[version],
    format: ['application/fhir+xml', 'application/fhir+json'],
    instantiates: ['http://example.org/CapabilityStatement/base-server'],
    rest: [
      { mode: 'client', resource: [{ type: 'Patient' }] },
      {
        mode: 'server',
        extension: [
          { url: WEBSOCKET_EXTENSION, valueUri: 'ws://hapi.internal:8080/websocket' },
          { url: 'http://example.org/fhir/StructureDefinition/oauth-uris', valueString: 'kept' },
        ],
        security: { cors: true },
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        operation: [{ name: 'reindex', definition: 'http://hapifhir.io/fhir/OperationDefinition/reindex' }],
      },
    ],
  };
}

/** The smallest valid CapabilityStatement: no rest, no implementation. */
function bare(version: FhirVersion): Record<string, unknown> {
  return { resourceType: 'CapabilityStatement', status: 'active', date: '2026-01-01', kind: 'instance', fhirVersion: FHIR_VERSION_STRING[version], format: ['json'] };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function serverRest(cs: CapabilityStatementJson): RestJson {
  const servers = cs.rest.filter((r) => r.mode === 'server');
  expect(servers, 'exactly one rest[mode=server]').to.have.length(1);
  return servers[0]!;
}

function resourceOf(cs: CapabilityStatementJson, type: string): RestResourceJson {
  const found = (serverRest(cs).resource ?? []).filter((r) => r.type === type);
  expect(found, `exactly one ${type} entry`).to.have.length(1);
  return found[0]!;
}

const codes = (r: RestResourceJson) => (r.interaction ?? []).map((i) => i.code);
const params = (r: RestResourceJson) => Object.fromEntries((r.searchParam ?? []).map((p) => [p.name, p]));
const extensions = (holder: { extension?: Array<{ url: string } & Record<string, unknown>> }, url: string) => (holder.extension ?? []).filter((e) => e.url === url);

function noEmptyArrays(value: unknown, path = '$'): void {
  if (Array.isArray(value)) {
    expect(value, path).to.not.have.length(0);
    value.forEach((v, i) => noEmptyArrays(v, `${path}[${i}]`));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) noEmptyArrays(v, `${path}.${k}`);
  }
}

/** Inferno subscriptions-test-kit §7 items 6 and 7, as the server suite checks them. */
function infernoCapabilityChecks(cs: CapabilityStatementJson, createdCriteria: string[]): void {
  expect(cs.resourceType).to.equal('CapabilityStatement');
  const rest = cs.rest.find((r) => r.mode === 'server');
  expect(rest, 'rest with mode server').to.not.equal(undefined);
  const subscription = rest!.resource?.find((r) => r.type === 'Subscription');
  expect(subscription, 'resource Subscription').to.not.equal(undefined);
  expect(subscription!.supportedProfile, 'supportedProfile present').to.be.an('array').that.is.not.empty;
  expect(subscription!.supportedProfile, 'no warning: backport profile listed').to.include(BACKPORT_SUBSCRIPTION_PROFILE);
  const canonicals = extensions(subscription!, TOPIC_CANONICAL_EXTENSION).map((e) => e.valueCanonical);
  for (const criteria of createdCriteria) expect(canonicals, `topic discovery lists ${criteria}`).to.include(criteria);
}

function expectGatewayCapabilities(cs: CapabilityStatementJson, version: FhirVersion, topics = TOPICS): void {
  const opts = options(version);
  const backport = version !== 'R5';
  const rest = serverRest(cs);

  expect(extensions(rest, WEBSOCKET_EXTENSION)).to.deep.equal([{ url: WEBSOCKET_EXTENSION, valueUri: opts.websocketUrl }]);

  const subscription = resourceOf(cs, 'Subscription');
  if (backport) expect(subscription.supportedProfile).to.include(BACKPORT_SUBSCRIPTION_PROFILE);
  else expect(subscription.supportedProfile ?? []).to.not.include(BACKPORT_SUBSCRIPTION_PROFILE);
  expect(codes(subscription)).to.include.members(['read', 'create', 'update', 'delete', 'search-type']);
  expect(new Set(codes(subscription)).size, 'no duplicate interactions').to.equal(codes(subscription).length);

  const sp = params(subscription);
  expect(sp.url).to.include({ type: 'uri', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-url' });
  expect(sp.status).to.include({ type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-status' });
  const backportParams = {
    topic: { type: 'string', definition: `${BACKPORT}/SearchParameter/Subscription-topic` },
    'filter-criteria': { type: 'string', definition: `${BACKPORT}/SearchParameter/Subscription-filter-criteria` },
    'payload-type': { type: 'token', definition: `${BACKPORT}/SearchParameter/Subscription-payload-type` },
    'custom-channel': { type: 'token', definition: `${BACKPORT}/SearchParameter/Subscription-custom-channel` },
  };
  for (const [name, expected] of Object.entries(backportParams)) {
    if (backport) expect(sp[name], name).to.include(expected);
    else expect(sp[name], name).to.equal(undefined);
  }
  expect(new Set(Object.keys(sp)).size, 'no duplicate search params').to.equal((subscription.searchParam ?? []).length);

  const ops = Object.fromEntries((subscription.operation ?? []).map((o) => [o.name, o.definition]));
  expect(ops).to.include(
    backport
      ? {
          status: `${BACKPORT}/OperationDefinition/backport-subscription-status`,
          events: `${BACKPORT}/OperationDefinition/backport-subscription-events`,
          'get-ws-binding-token': `${BACKPORT}/OperationDefinition/backport-subscription-get-ws-binding-token`,
        }
      : {
          status: 'http://hl7.org/fhir/OperationDefinition/Subscription-status',
          events: 'http://hl7.org/fhir/OperationDefinition/Subscription-events',
          'get-ws-binding-token': 'http://hl7.org/fhir/OperationDefinition/Subscription-get-ws-binding-token',
        },
  );
  for (const o of subscription.operation ?? []) expect(o.name, 'operation names carry no $ for the gateway’s own').to.not.match(/^\$(status|events|get-ws-binding-token)$/);

  expect(extensions(subscription, TOPIC_CANONICAL_EXTENSION)).to.deep.equal(topics.map((valueCanonical) => ({ url: TOPIC_CANONICAL_EXTENSION, valueCanonical })));

  if (version === 'R4') {
    const basic = resourceOf(cs, 'Basic');
    expect(codes(basic)).to.include.members(['read', 'search-type']);
    expect(params(basic).code).to.include({ type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Basic-code' });
    expect(
      (serverRest(cs).resource ?? []).some((r) => r.type === 'SubscriptionTopic'),
      'R4 has no SubscriptionTopic',
    ).to.equal(false);
  } else {
    const topic = resourceOf(cs, 'SubscriptionTopic');
    expect(codes(topic)).to.include.members(['read', 'search-type']);
    const tp = params(topic);
    expect(tp).to.have.keys('url', 'derived-or-self', 'resource', 'title', 'trigger-description', 'status');
    expect(tp.url).to.include({ type: 'uri', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-url' });
    expect(tp['derived-or-self']).to.include({ type: 'uri', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-derived-or-self' });
    expect(tp.resource).to.include({ type: 'uri', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-resource' });
    expect(tp.title).to.include({ type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-title' });
    expect(tp['trigger-description']).to.include({ type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-trigger-description' });
    expect(tp.status).to.include({ type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/SubscriptionTopic-status' });
  }

  const instantiates = { R4: `${BACKPORT}/CapabilityStatement/backport-subscription-server-r4`, R4B: `${BACKPORT}/CapabilityStatement/backport-subscription-server` };
  if (version === 'R5') expect(cs.instantiates ?? []).to.not.satisfy((list: string[]) => list.some((u) => u.startsWith(BACKPORT)));
  else expect(cs.instantiates).to.include(instantiates[version]);

  expect(cs.implementation.url).to.equal(opts.publicBaseUrl);
  expect(JSON.stringify(cs), 'the upstream address does not leak through implementation').to.not.include('hapi.internal:8080/fhir"');
  expect(cs.fhirVersion).to.equal(FHIR_VERSION_STRING[version]);
  noEmptyArrays(cs);
  if (backport) infernoCapabilityChecks(cs, topics);
}

describe('fhir/capability', () => {
  for (const version of VERSIONS) {
    describe(version, () => {
      it('extends a realistic upstream that already lists Subscription', () => {
        const upstream = realistic(version);
        const snapshot = structuredClone(upstream);
        const cs = augmentCapabilityStatement(deepFreeze(upstream), options(version));
        expect(upstream, 'input untouched').to.deep.equal(snapshot);
        expectGatewayCapabilities(cs, version);
      });

      it('builds rest, Subscription and discovery entries when the upstream has no rest at all', () => {
        const upstream = bare(version);
        const snapshot = structuredClone(upstream);
        const cs = augmentCapabilityStatement(deepFreeze(upstream), options(version));
        expect(upstream).to.deep.equal(snapshot);
        expectGatewayCapabilities(cs, version);
        expect(cs.rest).to.have.length(1);
        expect(cs.implementation).to.have.property('description').that.is.a('string').and.not.empty;
        const subscription = resourceOf(cs, 'Subscription');
        expect(codes(subscription)).to.deep.equal(['read', 'create', 'update', 'delete', 'search-type']);
        expect(subscription.operation!.map((o) => o.name)).to.deep.equal(['status', 'events', 'get-ws-binding-token']);
        if (version === 'R5') {
          expect(cs).to.not.have.property('instantiates');
          expect(subscription).to.not.have.property('supportedProfile');
        } else {
          expect(subscription.supportedProfile).to.deep.equal([BACKPORT_SUBSCRIPTION_PROFILE]);
        }
      });

      it('keeps everything the gateway does not own exactly as the upstream said it', () => {
        const upstream = realistic(version);
        const cs = augmentCapabilityStatement(upstream, options(version));
        const { rest: upstreamRest, implementation: upstreamImpl, instantiates: upstreamInstantiates, ...upstreamTop } = upstream;
        const { rest, implementation, instantiates, ...top } = cs;
        expect(top, 'top-level elements').to.deep.equal(upstreamTop);
        expect(implementation).to.deep.equal({ ...(upstreamImpl as object), url: 'https://gw.example.org/fhir' });
        expect(instantiates!.slice(0, 1)).to.deep.equal(upstreamInstantiates);

        const [client, server] = rest;
        const [upClient, upServer] = upstreamRest as Record<string, unknown>[];
        expect(client).to.deep.equal(upClient);
        expect(server!.security).to.deep.equal({ cors: true });
        expect(server!.interaction).to.deep.equal(upServer!.interaction);
        expect(server!.operation).to.deep.equal(upServer!.operation);
        expect(extensions(server!, 'http://example.org/fhir/StructureDefinition/oauth-uris')).to.have.length(1);
        expect(server!.extension!.map((e) => e.url)).to.deep.equal(['http://example.org/fhir/StructureDefinition/oauth-uris', WEBSOCKET_EXTENSION]);
        expect(resourceOf(cs, 'Patient')).to.deep.equal((upServer!.resource as unknown[])[0]);

        const subscription = resourceOf(cs, 'Subscription');
        expect(subscription.profile).to.equal('http://hl7.org/fhir/StructureDefinition/Subscription');
        expect(subscription.versioning).to.equal('versioned-update');
        expect(codes(subscription), 'upstream interactions first (less patch, which the gateway refuses), then the missing ones').to.deep.equal([
          'read',
          'vread',
          'update',
          'delete',
          'history-instance',
          'create',
          'search-type',
        ]);
        expect(params(subscription).status, 'an upstream search param keeps its documentation').to.have.property('documentation', 'The current state of the subscription');
        expect(params(subscription).criteria).to.deep.equal({ name: 'criteria', type: 'string', definition: 'http://hl7.org/fhir/SearchParameter/Subscription-criteria' });
        expect(extensions(subscription, 'http://example.org/fhir/StructureDefinition/vendor-flag')).to.have.length(1);
        const canonicals = extensions(subscription, TOPIC_CANONICAL_EXTENSION).map((e) => e.valueCanonical);
        expect(canonicals, 'the upstream’s own topics are not subscribable through the gateway').to.not.include('http://upstream.example/SubscriptionTopic/its-own');
        // Operations are invoked by name, so only a same-named declaration is shadowed by the gateway's.
        expect(
          subscription.operation!.map((o) => o.name),
          'the upstream’s $status is replaced, the rest kept',
        ).to.deep.equal(['$validate', 'legacy-events', 'status', 'events', 'get-ws-binding-token']);

        if (version === 'R4') {
          const basic = resourceOf(cs, 'Basic');
          expect(codes(basic)).to.deep.equal(['read', 'create', 'search-type']);
          expect(basic.searchParam).to.have.length(1);
          expect(params(basic).code).to.have.property('documentation', 'Kind of Resource');
        } else {
          expect(codes(resourceOf(cs, 'SubscriptionTopic'))).to.deep.equal(['create', 'read', 'search-type']);
        }
      });

      it('is idempotent: augmenting its own answer changes nothing', () => {
        const once = augmentCapabilityStatement(realistic(version), options(version));
        const twice = augmentCapabilityStatement(once, options(version));
        expect(twice).to.deep.equal(once);
      });
    });
  }

  it('lists each topic once and leaves out implicit criteria topics, which are not canonicals', () => {
    const cs = augmentCapabilityStatement(bare('R4'), options('R4', [TOPICS[0]!, `${IMPLICIT_TOPIC_PREFIX}Encounter`, TOPICS[0]!, TOPICS[1]!]));
    expect(extensions(resourceOf(cs, 'Subscription'), TOPIC_CANONICAL_EXTENSION).map((e) => e.valueCanonical)).to.deep.equal(TOPICS);
  });

  it('writes no empty extension list when there are no topics', () => {
    const cs = augmentCapabilityStatement(bare('R4B'), options('R4B', []));
    expect(resourceOf(cs, 'Subscription')).to.not.have.property('extension');
    noEmptyArrays(cs);
    const upstream = realistic('R4B');
    const subscription = ((upstream.rest as RestJson[])[1]!.resource as RestResourceJson[])[1]!;
    subscription.extension = subscription.extension!.filter((e) => e.url === TOPIC_CANONICAL_EXTENSION);
    expect(resourceOf(augmentCapabilityStatement(upstream, options('R4B', [])), 'Subscription')).to.not.have.property('extension');
  });

  it('adds a server rest beside a client-only rest', () => {
    const cs = augmentCapabilityStatement({ ...bare('R4'), rest: [{ mode: 'client' }] }, options('R4'));
    expect(cs.rest.map((r) => r.mode)).to.deep.equal(['client', 'server']);
    expectGatewayCapabilities(cs, 'R4');
  });

  it('refuses what it cannot extend, so the caller can answer 502', () => {
    const bad: unknown[] = [
      undefined,
      null,
      'CapabilityStatement',
      [bare('R4')],
      { resourceType: 'OperationOutcome', issue: [] },
      { ...bare('R4'), rest: { mode: 'server' } },
      { ...bare('R4'), rest: ['server'] },
      { ...bare('R4'), rest: [{ mode: 'server', resource: 'Subscription' }] },
      { ...bare('R4'), rest: [{ mode: 'server', extension: [null] }] },
      { ...bare('R4'), rest: [{ mode: 'server', resource: [{ type: 'Subscription', interaction: 'read' }] }] },
      { ...bare('R4'), rest: [{ mode: 'server', resource: [{ type: 'Subscription', supportedProfile: [1] }] }] },
      { ...bare('R4'), instantiates: 'http://example.org/cs' },
      { ...bare('R4'), implementation: 'HAPI' },
    ];
    for (const upstream of bad) {
      expect(() => augmentCapabilityStatement(upstream, options('R4')), JSON.stringify(upstream)).to.throw(CapabilityStatementError);
    }
  });
});

describe('CapabilityStatement: what the gateway refuses on Subscription', () => {
  it('does not advertise PATCH or conditional writes of Subscription, which the gateway answers with 405', () => {
    const upstream = {
      resourceType: 'CapabilityStatement',
      fhirVersion: '4.0.1',
      rest: [{ mode: 'server', resource: [{ type: 'Subscription', interaction: [{ code: 'read' }, { code: 'patch' }], conditionalUpdate: true, conditionalDelete: 'multiple' }] }],
    };
    const cs = augmentCapabilityStatement(upstream, { version: 'R4', topicUrls: [], websocketUrl: 'ws://gw/ws', publicBaseUrl: 'http://gw/fhir' });
    const sub = cs.rest[0]!.resource!.find((r) => r.type === 'Subscription')!;
    expect(sub.interaction!.map((i) => i.code)).not.to.include('patch');
    expect(sub.conditionalUpdate).to.equal(false);
    expect(sub.conditionalDelete).to.equal('not-supported');
  });
});
