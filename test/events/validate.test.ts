import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { FhirVersion } from '../../src/config.js';
import { VALIDATION_REASONS, defaultEventId, validateEvent, validateEventValue } from '../../src/events/validate.js';
import { schemaAccepts } from '../support/json-schema.js';

interface Case {
  name: string;
  valid: boolean;
  reason?: string;
  event?: unknown;
  message?: string;
  version?: FhirVersion;
  schemaAccepts?: boolean;
  maxBytes?: number;
}

const root = new URL('../../', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('schema/resource-change-event.schema.json', root), 'utf8')) as Record<string, unknown>;
const { cases } = JSON.parse(readFileSync(new URL('test/events/fixtures/wire-events.json', root), 'utf8')) as { cases: Case[] };
const NOW = new Date('2026-03-04T05:06:07.890Z');
const opts = (version: FhirVersion = 'R4') => ({ version, now: () => NOW });
const messageOf = (c: Case) => c.message ?? JSON.stringify(c.event);

function parsed(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

describe('resource-change event validation', () => {
  describe('fixtures (test/events/fixtures/wire-events.json)', () => {
    it('cover every rejection reason', () => {
      const covered = new Set(cases.flatMap((c) => (c.reason ? [c.reason] : [])));
      expect([...VALIDATION_REASONS].filter((r) => !covered.has(r))).to.deep.equal([]);
      expect([...covered].filter((r) => !(VALIDATION_REASONS as readonly string[]).includes(r))).to.deep.equal([]);
    });

    for (const c of cases) {
      it(`validator: ${c.name} → ${c.valid ? 'valid' : c.reason}`, () => {
        const result = validateEvent(messageOf(c), { ...opts(c.version), ...(c.maxBytes ? { maxBytes: c.maxBytes } : {}) });
        if (c.valid) {
          expect(result, JSON.stringify(result)).to.include({ ok: true });
        } else {
          expect(result.ok, 'should be rejected').to.equal(false);
          if (!result.ok) {
            expect(result.reason).to.equal(c.reason);
            expect(result.detail).to.be.a('string').and.not.equal('');
            expect(result.detail.length).to.be.below(300);
          }
        }
      });
    }

    for (const c of cases) {
      const json = parsed(messageOf(c));
      if (!json.ok) continue;
      const expected = c.valid || c.schemaAccepts === true;
      it(`schema: ${c.name} → ${expected ? 'accepted' : 'rejected'}`, () => {
        expect(schemaAccepts(schema, json.value)).to.equal(expected);
      });
    }
  });

  describe('the schema file', () => {
    it('is draft 2020-12 with the contract members, descriptions and examples', () => {
      expect(schema.$schema).to.equal('https://json-schema.org/draft/2020-12/schema');
      expect(schema.type).to.equal('object');
      expect(schema.required).to.deep.equal(['interaction', 'reference']);
      const properties = schema.properties as Record<string, { description?: string }>;
      expect(Object.keys(properties)).to.have.members(['eventId', 'interaction', 'reference', 'versionId', 'timestamp', 'resource', 'previous']);
      for (const [name, p] of Object.entries(properties)) expect(p.description, name).to.be.a('string').with.length.above(20);
      expect(schema.additionalProperties).to.equal(true);
      expect(schema.examples).to.be.an('array').that.is.not.empty;
    });

    it('has examples the validator accepts', () => {
      for (const example of schema.examples as unknown[]) {
        expect(schemaAccepts(schema, example)).to.equal(true);
        expect(validateEvent(JSON.stringify(example), opts()), JSON.stringify(example)).to.include({ ok: true });
      }
    });

    it('names the interactions and the reference pattern the validator uses', () => {
      const properties = schema.properties as Record<string, Record<string, unknown>>;
      expect(properties.interaction?.enum).to.deep.equal(['create', 'update', 'delete']);
      expect(properties.reference?.pattern).to.equal('^[A-Z][A-Za-z]+/[A-Za-z0-9\\-.]{1,64}$');
    });
  });

  describe('the validated event', () => {
    it('fills in the default eventId, splits the reference and keeps the given timestamp', () => {
      const result = validateEvent('{"interaction":"update","reference":"Encounter/123","versionId":"2","timestamp":"2026-01-01T00:00:00Z"}', opts());
      expect(result).to.deep.equal({
        ok: true,
        event: {
          eventId: 'Encounter/123/_history/2:update',
          interaction: 'update',
          reference: 'Encounter/123',
          resourceType: 'Encounter',
          id: '123',
          versionId: '2',
          timestamp: '2026-01-01T00:00:00Z',
        },
      });
    });

    it('builds the default eventId as <Type>/<id>/_history/<versionId>:<interaction>', () => {
      expect(defaultEventId('Patient/p1', '7', 'delete')).to.equal('Patient/p1/_history/7:delete');
    });

    it('keeps a given eventId', () => {
      const result = validateEvent('{"eventId":"cdc-1","interaction":"delete","reference":"Patient/p1"}', opts());
      expect(result.ok && result.event.eventId).to.equal('cdc-1');
      expect(result.ok && 'versionId' in result.event).to.equal(false);
    });

    it('takes versionId and timestamp from the resource when they are absent', () => {
      const resource = { resourceType: 'Patient', id: 'p1', meta: { versionId: '4', lastUpdated: '2026-02-01T08:00:00.5+01:00' } };
      const result = validateEvent(JSON.stringify({ interaction: 'update', reference: 'Patient/p1', resource }), opts());
      expect(result.ok && result.event).to.deep.include({ versionId: '4', eventId: 'Patient/p1/_history/4:update', timestamp: '2026-02-01T08:00:00.5+01:00', resource });
    });

    it('uses the ingest clock when nothing gives a timestamp', () => {
      const result = validateEvent('{"interaction":"update","reference":"Patient/p1","versionId":"1"}', opts());
      expect(result.ok && result.event.timestamp).to.equal(NOW.toISOString());
      const lastUpdatedBad = validateEvent(
        JSON.stringify({ interaction: 'update', reference: 'Patient/p1', versionId: '1', resource: { resourceType: 'Patient', id: 'p1', meta: { lastUpdated: 'yesterday' } } }),
        opts(),
      );
      expect(lastUpdatedBad.ok && lastUpdatedBad.event.timestamp).to.equal(NOW.toISOString());
      const clockless = validateEvent('{"interaction":"update","reference":"Patient/p1","versionId":"1"}', { version: 'R4' });
      expect(clockless.ok && Date.parse(clockless.event.timestamp)).to.be.closeTo(Date.now(), 5000);
    });

    it('drops a delete’s resource and a create’s previous, and the unknown members', () => {
      const resource = { resourceType: 'Patient', id: 'p1', meta: { versionId: '1' } };
      const del = validateEvent(JSON.stringify({ interaction: 'delete', reference: 'Patient/p1', versionId: '2', resource, previous: resource, extra: 1 }), opts());
      expect(del.ok && del.event).to.deep.equal({
        eventId: 'Patient/p1/_history/2:delete',
        interaction: 'delete',
        reference: 'Patient/p1',
        resourceType: 'Patient',
        id: 'p1',
        versionId: '2',
        timestamp: NOW.toISOString(),
        previous: resource,
      });
      const create = validateEvent(JSON.stringify({ interaction: 'create', reference: 'Patient/p1', resource, previous: resource }), opts());
      expect(create.ok && Object.keys(create.event)).to.not.include('previous');
    });

    it('says how to fix a delete that cannot be deduplicated', () => {
      const result = validateEvent('{"interaction":"delete","reference":"Patient/p1"}', opts());
      expect(result).to.deep.include({ ok: false, reason: 'missing-version-id' });
      expect(!result.ok && result.detail)
        .to.match(/versionId/)
        .and.match(/eventId/)
        .and.match(/add one/);
    });

    it('bounds what it quotes from a message in the detail', () => {
      const result = validateEvent(JSON.stringify({ interaction: 'update', reference: 'x'.repeat(1_000_000), versionId: '1' }), opts());
      expect(result).to.deep.include({ ok: false, reason: 'bad-reference' });
      expect(!result.ok && result.detail.length).to.be.below(200);
    });
  });

  describe('never throws', () => {
    // Deterministic, so a failure can be replayed.
    function rng(seed: number): () => number {
      return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    const random = rng(20260101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const ALPHABET = ['{', '}', '[', ']', '"', ':', ',', '\\', 'a', 'Z', '0', '9', '/', '-', '.', ' ', '\n', 'é', '\u0000', '\ud800', '😀', 'e', 'n', 'u', 'l', 't'];
    const randomString = (max: number) => Array.from({ length: Math.floor(random() * max) }, () => pick(ALPHABET)).join('');
    const KEYS = ['eventId', 'interaction', 'reference', 'versionId', 'timestamp', 'resource', 'previous', 'meta', 'id', 'resourceType', '__proto__', 'constructor', 'toString'];
    function randomValue(depth: number): unknown {
      switch (Math.floor(random() * (depth > 3 ? 6 : 8))) {
        case 0:
          return null;
        case 1:
          return random() < 0.5;
        case 2:
          return pick([0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER]);
        case 3:
          return randomString(12);
        case 4:
          return pick(['create', 'update', 'delete', 'Patient/1', 'Encounter/x', '2026-01-01T00:00:00Z', '1', 'Patient', '']);
        case 5:
          return pick([{}, [], '']);
        case 6:
          return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(KEYS), randomValue(depth + 1)]));
      }
    }
    const VALID = {
      interaction: 'update',
      reference: 'Patient/p1',
      versionId: '2',
      timestamp: '2026-01-01T00:00:00Z',
      resource: { resourceType: 'Patient', id: 'p1', meta: { versionId: '2' } },
      previous: { resourceType: 'Patient', id: 'p1' },
    };
    /** A valid event with one member replaced, removed or nested into: close to valid, so deep paths run. */
    function mutated(): Record<string, unknown> {
      const event: Record<string, unknown> = structuredClone(VALID);
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const key = pick(KEYS);
        const target = random() < 0.3 && typeof event.resource === 'object' && event.resource !== null ? (event.resource as Record<string, unknown>) : event;
        if (random() < 0.3) delete target[key];
        else target[key] = randomValue(0);
      }
      return event;
    }
    const check = (message: string, version: FhirVersion = 'R4') => {
      const result = validateEvent(message, { version });
      expect(result.ok === true || (typeof result.reason === 'string' && typeof result.detail === 'string')).to.equal(true);
      return result;
    };

    it('for random strings', () => {
      for (let i = 0; i < 3000; i++) check(randomString(64));
    });

    it('for random JSON values', () => {
      for (let i = 0; i < 3000; i++) check(JSON.stringify(randomValue(0)) ?? 'undefined', pick(['R4', 'R4B', 'R5'] as const));
    });

    it('for deeply nested JSON', () => {
      check('['.repeat(100_000) + ']'.repeat(100_000));
      check('{"resource":'.repeat(10_000) + '{}' + '}'.repeat(10_000));
    });

    it('for values that are not JSON text', () => {
      for (const value of [undefined, null, 42, Symbol('x'), () => 1, new Proxy({}, {}), Object.create(null) as object, new Date(0), new Map()]) {
        const result = validateEventValue(value, { version: 'R4' });
        expect(result.ok).to.equal(false);
      }
    });

    it('for mutations of a valid event, and what it accepts the schema accepts', () => {
      let accepted = 0;
      for (let i = 0; i < 3000; i++) {
        const event = mutated();
        const result = check(JSON.stringify(event));
        if (result.ok) {
          accepted++;
          expect(schemaAccepts(schema, JSON.parse(JSON.stringify(event))), JSON.stringify(event)).to.equal(true);
        }
      }
      // The mutations should exercise both outcomes.
      expect(accepted).to.be.above(100).and.below(2900);
    });
  });
});
