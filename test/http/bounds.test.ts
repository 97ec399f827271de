import { expect } from 'chai';
import { parseFrame } from '../../src/channels/frames.js';
import { MAX_JSON_DEPTH, parseBoundedJson } from '../../src/fhir/bounded-json.js';
import type { Gateway } from '../../src/gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { WsClient } from '../support/ws-client.js';

interface Outcome {
  resourceType: string;
  issue: Array<{ code: string; diagnostics?: string }>;
}

const nest = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('bounded JSON: bad input is a clear 400, never a 500', () => {
  describe('parseBoundedJson', () => {
    it('takes JSON up to the depth bound and refuses one level more', () => {
      expect(parseBoundedJson(nest(MAX_JSON_DEPTH), { maxBytes: 1e6 })).to.include({ ok: true });
      expect(parseBoundedJson(nest(MAX_JSON_DEPTH + 1), { maxBytes: 1e6 })).to.include({ ok: false, reason: 'too-deep' });
      expect(parseBoundedJson('{"a":' + nest(3) + '}', { maxBytes: 1e6, maxDepth: 3 })).to.include({ ok: false, reason: 'too-deep' });
    });

    it('does not count brackets inside strings, escaped quotes included', () => {
      const text = JSON.stringify({ s: '[[[[{{{{\\"[[[[', t: '"]]]]' });
      expect(parseBoundedJson(text, { maxBytes: 1e6, maxDepth: 1 })).to.deep.equal({ ok: true, value: JSON.parse(text) });
    });

    it('refuses text over the size bound in UTF-8 bytes, and names bad JSON', () => {
      expect(parseBoundedJson(JSON.stringify('é'.repeat(40)), { maxBytes: 60 })).to.include({ ok: false, reason: 'too-large' });
      expect(parseBoundedJson(JSON.stringify('e'.repeat(40)), { maxBytes: 60 })).to.include({ ok: true });
      expect(parseBoundedJson('{"a":', { maxBytes: 60 })).to.include({ ok: false, reason: 'not-json' });
    });

    it('keeps __proto__ an own member, never the prototype', () => {
      const parsed = parseBoundedJson('{"__proto__":{"polluted":true}}', { maxBytes: 100 });
      expect(parsed.ok).to.equal(true);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  });

  describe('WebSocket frames', () => {
    it('refuses a deeply nested JSON frame with a reason', () => {
      const frame = parseFrame(`{"type":"bind-with-token","payload":${nest(10, '{"token":"a"}')}}`, 'spec');
      expect(frame).to.deep.include({ kind: 'invalid', dialect: 'medplum' });
      expect((frame as { reason: string }).reason).to.match(/deeper than the limit/);
      expect(parseFrame('{"type":"bind-with-token","payload":null}', 'spec')).to.deep.include({ kind: 'invalid', reason: 'payload.token must be a binding token' });
    });
  });

  describe('through the gateway', () => {
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let base: string;
    let id: string;

    before(async () => {
      upstream = await startUpstream();
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics' });
      base = gateway.baseUrl;
      const created = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription());
      id = created.body.id;
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
    });

    const operations = () => [`Subscription/${id}/$status`, `Subscription/${id}/$events`, `Subscription/$status`, `Subscription/${id}/$get-ws-binding-token`];
    const bodies: Array<[string, string, RegExp]> = [
      ['"parameter": {}', '{"resourceType":"Parameters","parameter":{}}', /must be an array/],
      ['"parameter": [null]', '{"resourceType":"Parameters","parameter":[null]}', /parameter\[0\] must be an object/],
      ['"parameter": [[]]', '{"resourceType":"Parameters","parameter":[[]]}', /parameter\[0\] must be an object/],
      ['a parameter with an object for a value', '{"resourceType":"Parameters","parameter":[{"name":"content","valueString":{"a":1}}]}', /one primitive value/],
      ['a parameter nested past the bound', `{"resourceType":"Parameters","parameter":[{"name":"x","part":${nest(200, '{}')}}]}`, /deeper than the limit/],
      ['null', 'null', /must be a Parameters resource/],
      ['an array', '[{"resourceType":"Parameters"}]', /must be a Parameters resource/],
    ];
    for (const [what, body, diagnostics] of bodies) {
      it(`answers a Parameters body with ${what} with 400 on every operation`, async () => {
        for (const op of operations()) {
          const res = await fhir<Outcome>('POST', `${base}/${op}`, body);
          expect(res.status, `${op}: ${JSON.stringify(res.body)}`).to.equal(400);
          expect(res.body.resourceType).to.equal('OperationOutcome');
          expect(res.body.issue[0]!.diagnostics, op).to.match(diagnostics);
        }
      });
    }

    for (const depth of [MAX_JSON_DEPTH + 1, 20_000]) {
      it(`answers a Subscription nested ${depth} deep with 400, on create and update`, async () => {
        const deep = JSON.stringify(backportSubscription()).replace('"reason":"test"', `"reason":"test","extension":${nest(depth, '{}')}`);
        const create = await fhir<Outcome>('POST', `${base}/Subscription`, deep);
        expect(create.status).to.equal(400);
        expect(create.body.issue[0]!.diagnostics).to.match(/deeper than the limit of 100/);
        const update = await fhir<Outcome>('PUT', `${base}/Subscription/${id}`, deep.replace('{', `{"id":"${id}",`));
        expect(update.status).to.equal(400);
        expect(update.body.issue[0]!.diagnostics).to.match(/deeper than the limit of 100/);
      });
    }

    it('answers a transaction with a Subscription entry nested past the bound with 400, and forwards one without', async () => {
      const deep = nest(MAX_JSON_DEPTH + 50, '{}');
      const withSubscription = `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":${JSON.stringify(backportSubscription()).replace(/}$/, `,"extension":${deep}}`)},"request":{"method":"POST","url":"Subscription"}}]}`;
      const refused = await fhir<Outcome>('POST', base, withSubscription);
      expect(refused.status).to.equal(400);
      expect(refused.body.issue[0]!.diagnostics).to.match(/nested too deeply .*deeper than the limit of 100/);
      const without = `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Basic","code":{"text":"x"},"extension":${deep}},"request":{"method":"POST","url":"Basic"}}]}`;
      const forwarded = await fhir<{ resourceType: string; issue?: Outcome['issue'] }>('POST', base, without);
      // The upstream's answer, whatever it makes of it: the gateway acts only on Subscription entries.
      expect(forwarded.status).to.not.equal(500);
      expect(forwarded.body.resourceType).to.be.oneOf(['Bundle', 'OperationOutcome']);
      expect(JSON.stringify(forwarded.body.issue ?? [])).to.not.match(/nested too deeply/);
    });

    it('answers a deeply nested WebSocket frame with an OperationOutcome and keeps the socket', async () => {
      const ws = await WsClient.connect(gateway.baseUrl.replace(/^http/, 'ws').replace(/\/fhir$/, '/ws'));
      try {
        ws.send(`{"type":"bind-with-token","payload":{"token":${nest(5000, '"x"')}}}`);
        const answer = await ws.next((f) => f.resourceType === 'OperationOutcome', 'the refusal');
        expect(JSON.stringify(answer)).to.match(/deeper than the limit/);
        ws.send('{"type":"ping"}');
        await ws.next((f) => f.type === 'pong', 'a pong after the refusal');
      } finally {
        ws.close();
      }
    });
  });
});
