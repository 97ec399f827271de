// Property tests that call the parsers directly: the property is about the parser, and 10,000+
// cases each cost milliseconds here. test/fuzz/gateway.test.ts sends a share through a real gateway.
import { expect } from 'chai';
import fc from 'fast-check';
import { parseFrame } from '../../src/channels/frames.js';
import { VALIDATION_REASONS, REFERENCE, validateEvent } from '../../src/events/validate.js';
import { parseJsonSubscription, SubscriptionInvalid, type ParseContext } from '../../src/fhir/subscription-parse.js';
import { parseFhirPath } from '../../src/http/request-path.js';
import { ParametersInvalid, parametersInBody } from '../../src/http/parameters.js';
import { UrlRewriter } from '../../src/upstream/rewrite.js';
import { TOPICS } from '../fhir/fixtures/topics.js';
import { EVENT, PARAMETERS, R4_CLASSIC, R4_SUBSCRIPTION, R5_SUBSCRIPTION, SEED, frameText, jsonText, nearValid, pathAndQuery } from './arbitraries.js';

const RUNS = 10_000;
const run = <T extends [unknown, ...unknown[]]>(property: fc.IProperty<T>) => fc.assert(property, { numRuns: RUNS, seed: SEED });
const reasons: readonly string[] = VALIDATION_REASONS;

describe(`fuzz: parsers (seed ${SEED}, FUZZ_SEED to repeat)`, function () {
  this.timeout(60_000);
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  after(() => expect(Object.getOwnPropertyNames(Object.prototype).sort(), 'Object.prototype is untouched').to.deep.equal(before));

  it(`WebSocket frames: ${RUNS} frames, each parsed to a known kind without throwing`, () => {
    run(
      fc.property(frameText, fc.constantFrom('spec', 'medplum'), (text, dialect) => {
        const frame = parseFrame(text, dialect);
        expect(['bind', 'unbind', 'ping', 'invalid']).to.include(frame.kind);
        if (frame.kind === 'invalid') expect(frame.reason).to.be.a('string').that.is.not.empty;
        if (frame.kind === 'bind' || frame.kind === 'unbind') expect(frame.token).to.match(/^[A-Za-z0-9\-_.=+/~]{1,8192}$/);
        if (frame.kind === 'bind' && frame.eventsSince !== undefined) expect(Number.isSafeInteger(frame.eventsSince) && frame.eventsSince >= 0).to.equal(true);
      }),
    );
  });

  const contexts: Array<[string, ParseContext, unknown[]]> = [
    ['R4', { fhirVersion: 'R4', topics: TOPICS }, [R4_SUBSCRIPTION, R4_CLASSIC]],
    ['R4B', { fhirVersion: 'R4B', topics: TOPICS }, [R4_SUBSCRIPTION]],
    ['R5', { fhirVersion: 'R5', topics: TOPICS }, [R5_SUBSCRIPTION]],
  ];
  for (const [version, ctx, templates] of contexts) {
    it(`Subscription bodies (${version}): ${RUNS} near-valid bodies, each a model or a SubscriptionInvalid with a 400/422`, () => {
      const body = jsonText(fc.oneof(...templates.map((t) => nearValid(t))));
      run(
        fc.property(body, (text) => {
          try {
            const model = parseJsonSubscription(text, ctx);
            expect(model.status).to.be.a('string');
          } catch (err) {
            if (!(err instanceof SubscriptionInvalid)) throw err;
            expect([400, 422]).to.include(err.status);
            expect(err.message).to.be.a('string').that.is.not.empty;
          }
        }),
      );
    });
  }

  it(`Parameters bodies: ${RUNS} near-valid bodies, each names and primitive values or a ParametersInvalid`, () => {
    run(
      fc.property(jsonText(nearValid(PARAMETERS)), (text) => {
        try {
          for (const [name, value] of parametersInBody(text, 1024 * 1024)) {
            expect(name).to.be.a('string').that.is.not.empty;
            expect(value).to.be.a('string');
          }
        } catch (err) {
          if (!(err instanceof ParametersInvalid)) throw err;
          expect(err.message).to.be.a('string').that.is.not.empty;
        }
      }),
    );
  });

  it(`events: ${RUNS} near-valid events, each valid and serialisable or rejected with a known reason`, () => {
    run(
      fc.property(jsonText(nearValid(EVENT)), (text) => {
        const result = validateEvent(text, { version: 'R4' });
        if (!result.ok) {
          expect(reasons).to.include(result.reason);
          expect(result.detail.length).to.be.within(1, 400);
          return;
        }
        expect(result.event.reference).to.match(REFERENCE);
        // What the pipeline does next (log, publish) must not be able to throw.
        expect(JSON.parse(JSON.stringify(result.event))).to.be.an('object');
      }),
    );
  });

  it(`paths: ${RUNS} paths, each refused or read into plain segments that read the same again`, () => {
    run(
      fc.property(pathAndQuery, ({ path }) => {
        const parsed = parseFhirPath(path);
        if (!parsed.ok) return void expect(parsed.reason).to.be.a('string').that.is.not.empty;
        for (const s of parsed.segments) {
          expect(s).to.not.be.oneOf(['', '.', '..']);
          // eslint-disable-next-line no-control-regex -- no control character may survive
          expect(s).to.not.match(/[/\\;\u0000-\u001f]/);
        }
        expect(parsed.relative).to.not.include('//');
        // What the upstream is sent reads back as what was routed: one path, one meaning.
        expect(parseFhirPath(parsed.relative === '' ? '' : `/${parsed.relative}`)).to.deep.equal(parsed);
        expect(parsed.relative.split('/').filter(Boolean).map(decodeURIComponent)).to.deep.equal(parsed.segments);
      }),
    );
  });

  it('URL rewriting: a streamed body, cut anywhere, is rewritten exactly like the whole', async () => {
    const rewriter = new UrlRewriter(['http://hapi.internal:8080/fhir'], 'https://gw.example.org/fhir');
    const spellings = fc.constantFrom(
      'http://hapi.internal:8080/fhir',
      'HTTP://Hapi.Internal:8080/fhir/Patient',
      'http:\\/\\/hapi.internal:8080\\/fhir',
      'http%3A%2F%2Fhapi.internal%3A8080%2Ffhir',
      'http://hapi.internal:8080/fhirX',
      'http://hapi.internal:80801',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(spellings, fc.string({ maxLength: 6 })), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }), async (parts, cuts) => {
        const text = parts.join('');
        const chunks: Buffer[] = [];
        const stream = rewriter.stream();
        const out: Buffer[] = [];
        stream.on('data', (c: Buffer) => out.push(c));
        for (let i = 0, k = 0; i < text.length; k++) {
          const n = cuts[k % cuts.length]!;
          chunks.push(Buffer.from(text.slice(i, i + n)));
          i += n;
        }
        for (const c of chunks) stream.write(c);
        stream.end();
        await new Promise((r) => stream.on('end', r));
        expect(Buffer.concat(out).toString()).to.equal(rewriter.text(text));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });
});
