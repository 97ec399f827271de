// The event log's contract, asked of both engines: shared streams, numbers from where a
// subscription joined, idempotent numbering, continuing numbers across filter changes and
// off/on, version order across replicas, and (Redis) what a lost state does.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { EventLog, type LogInput } from '../../src/eventlog/index.js';
import type { SubscriptionFilter } from '../../src/fhir/subscription.js';
import { SubscriptionRegistry, type ActiveSubscription } from '../../src/subscriptions/registry.js';
import { deleteKeys, randomPrefix, startRedis, type TestRedis } from '../support/redis.js';

const logger = pino({ level: 'silent' });
/** These tests start with no subscription anywhere: a deployment's first epoch numbers from 1. */
const noSubscriptionsYet = async () => true;
const TOPIC = 'http://example.org/topic/record-change';

function sub(id: string, filters: SubscriptionFilter[] = [{ parameter: 'patient', value: 'Patient/1' }]): ActiveSubscription {
  return { id, status: 'active', topic: TOPIC, filters, channelType: 'websocket', content: 'id-only', contentType: 'application/fhir+json', notificationVersion: 'R4' };
}

let clock = Date.parse('2026-01-01T00:00:00Z');
function event(id: string, reference = 'Observation/o1'): LogInput {
  clock += 1000;
  return { eventId: id, reference, interaction: 'update', versionId: id, timestamp: new Date(clock).toISOString(), resource: { resourceType: 'Observation', id: id } };
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`event log (${kind} engine)`, function () {
    this.timeout(30_000);
    let redis: TestRedis | undefined;
    let raw: Redis | undefined;
    let prefix: string;
    let engine: Engine;
    let registry: SubscriptionRegistry;
    let log: EventLog;
    const retention = { maxLen: 1000, maxAgeMs: 3_600_000 };

    before(async () => {
      if (kind === 'redis') {
        redis = await startRedis();
        raw = new Redis(redis.url);
        raw.on('error', () => undefined);
      }
    });
    after(async () => {
      raw?.disconnect();
      await redis?.stop();
    });
    beforeEach(async () => {
      prefix = redis ? redis.newPrefix() : randomPrefix();
      engine = createEngine({ redis: redis && { url: redis.url, keyPrefix: prefix } }, logger);
      await engine.start();
      registry = new SubscriptionRegistry(engine, logger);
      await registry.start();
      log = new EventLog({ engine, logger, registry, retention, noSubscriptionsYet });
      await log.start();
    });
    afterEach(async () => {
      log.close();
      await registry.close();
      await engine.close();
    });

    async function active(...subs: ActiveSubscription[]): Promise<ActiveSubscription[]> {
      for (const s of subs) await registry.upsert(s);
      return subs;
    }
    const numbersOf = (matches: Array<[string, number]>) => Object.fromEntries(matches);

    it('subscriptions with the same topic and filters share one stream: one log entry per event, each numbered 1..n', async () => {
      const subs = await active(...Array.from({ length: 50 }, (_, i) => sub(`s${i}`)));
      for (let n = 1; n <= 4; n++) {
        const matches = await log.number(event(`e${n}`), subs);
        expect(matches).to.have.length(50);
        expect(new Set(matches.map(([, k]) => k))).to.deep.equal(new Set([n]));
      }
      for (const s of subs.slice(0, 3)) expect((await log.position(s.id)).count).to.equal(4);
      const page = await log.read('s7', 1, Infinity, 100);
      expect(page.events.map((e) => [e.number, e.eventId, e.resource?.id])).to.deep.equal([1, 2, 3, 4].map((n) => [n, `e${n}`, `e${n}`]));
      if (raw) {
        const logs = await raw.keys(`${prefix}{es:*}:log`);
        expect(logs, 'one log for 50 subscriptions').to.have.length(1);
        expect(await raw.zcard(logs[0]!)).to.equal(4);
      }
    });

    if (kind === 'redis' && !process.env.REDIS_URL) {
      it('a breadth event costs the same Redis commands for 5 subscriptions as for 500', async () => {
        const cost = async (n: number, tag: string): Promise<number> => {
          const subs = await active(...Array.from({ length: n }, (_, i) => sub(`${tag}${i}`, [{ parameter: 'patient', value: `Patient/${tag}` }])));
          await log.number(event(`${tag}-warm`), subs); // the joins happen once, here
          const before = await commands();
          await log.number(event(`${tag}-1`), subs);
          return (await commands()) - before;
        };
        const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await raw!.info('stats'))![1]);
        const small = await cost(5, 'small');
        const large = await cost(500, 'large');
        expect(large).to.equal(small);
        // Commands run inside the Lua step count too (about ten); one INFO is ours.
        expect(small).to.be.below(20);
      });
    }

    // Counting commands needs a server nobody else uses.
    if (kind === 'redis' && !process.env.REDIS_URL) {
      it('a read of 200 events costs what a read of 5 does, plus one pipelined GET per body (batches, not a round trip per entry)', async () => {
        const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await raw!.info('stats'))![1]);
        const cost = async (n: number, tag: string): Promise<number> => {
          const [s] = await active(sub(tag, [{ parameter: 'patient', value: `Patient/${tag}` }]));
          for (let i = 0; i < n; i++) await log.number(event(`${tag}-${i}`), [s!]);
          const before = await commands();
          const page = await log.read(tag, 1, Infinity, 1000);
          expect(page.events).to.have.length(n);
          return (await commands()) - before;
        };
        const few = await cost(5, 'few');
        const many = await cost(200, 'many');
        // GETs inside one MGET-like pipeline are counted one each; everything else is constant.
        expect(many - 200).to.equal(few - 5);
      });
    }

    it('a subscription that joins later numbers from 1 from where it joined', async () => {
      const [a] = await active(sub('a'));
      await log.number(event('e1'), [a!]);
      await log.number(event('e2'), [a!]);
      const [b] = await active(sub('b'));
      expect(numbersOf(await log.number(event('e3'), [a!, b!]))).to.deep.equal({ a: 3, b: 1 });
      expect(numbersOf(await log.number(event('e4'), [a!, b!]))).to.deep.equal({ a: 4, b: 2 });
      expect((await log.read('b', 1, Infinity, 10)).events.map((e) => e.eventId)).to.deep.equal(['e3', 'e4']);
      expect((await log.position('b')).count).to.equal(2);
    });

    it('numbering the same event again (a retry, a second replica) yields the numbers it already had', async () => {
      const subs = await active(sub('a'), sub('b', [{ parameter: 'code', value: 'x' }]));
      const e1 = event('e1');
      const first = await log.number(e1, subs);
      await log.number(event('e2'), subs);
      const replica = new EventLog({ engine, logger, registry, retention, noSubscriptionsYet });
      await replica.start();
      expect(await log.number(e1, subs)).to.deep.equal(first);
      expect(await replica.number(e1, subs)).to.deep.equal(first);
      replica.close();
      expect((await log.read('a', 1, Infinity, 10)).events.map((e) => e.eventId)).to.deep.equal(['e1', 'e2']);
    });

    it('a subscription whose filters change joins another stream, its numbers continuing its own', async () => {
      const [a, other] = await active(sub('a'), sub('other'));
      for (const n of [1, 2, 3]) await log.number(event(`e${n}`), [a!, other!]);
      const changed = sub('a', [{ parameter: 'patient', value: 'Patient/2' }]);
      await registry.upsert(changed);
      expect(numbersOf(await log.number(event('e4', 'Observation/o2'), [changed]))).to.deep.equal({ a: 4 });
      // The old stream goes on without it.
      expect(numbersOf(await log.number(event('e5'), [a!, other!]))).to.deep.equal({ other: 4 });
      const page = await log.read('a', 1, Infinity, 10);
      expect(page.events.map((e) => [e.number, e.eventId])).to.deep.equal([
        [1, 'e1'],
        [2, 'e2'],
        [3, 'e3'],
        [4, 'e4'],
      ]);
      expect(page.count).to.equal(4);
      expect(page.firstKept).to.equal(1);
    });

    it('a subscription turned off and on again continues its numbers and gets nothing from while it was off', async () => {
      const [a, b] = await active(sub('a'), sub('b'));
      await log.number(event('e1'), [a!, b!]);
      await log.number(event('e2'), [a!, b!]);
      await registry.remove('a', 'off');
      await log.leave('a'); // what the removal listener does too; idempotent
      await log.number(event('e3'), [b!]);
      await log.number(event('e4'), [b!]);
      expect((await log.position('a')).count).to.equal(2);
      await registry.upsert(a!);
      expect(numbersOf(await log.number(event('e5'), [a!, b!]))).to.deep.equal({ a: 3, b: 5 });
      expect((await log.read('a', 1, Infinity, 10)).events.map((e) => [e.number, e.eventId])).to.deep.equal([
        [1, 'e1'],
        [2, 'e2'],
        [3, 'e5'],
      ]);
    });

    it('numbers versions of one resource in timestamp order even when a newer one is ready first on another replica', async () => {
      const [a] = await active(sub('a'));
      const replica = new EventLog({ engine, logger, registry, retention, noSubscriptionsYet });
      await replica.start();
      const v1 = event('v1', 'Observation/ordered');
      const v2 = event('v2', 'Observation/ordered');
      // Replica 1 holds v1 (announced, still fetching); replica 2 has v2 ready first.
      await log.announce(v1);
      await replica.announce(v2);
      const second = replica.number(v2, [a!]).then(async (m) => {
        await replica.withdraw(v2);
        return m;
      });
      await new Promise((r) => setTimeout(r, 150));
      const first = await log.number(v1, [a!]);
      await log.withdraw(v1);
      expect(numbersOf(first)).to.deep.equal({ a: 1 });
      expect(numbersOf(await second)).to.deep.equal({ a: 2 });
      replica.close();
    });

    if (kind === 'redis') {
      it('an unreadable entry is skipped by readers, not trusted', async () => {
        const [a] = await active(sub('a'));
        await log.number(event('e1'), [a!]);
        const [key] = await raw!.keys(`${prefix}{es:*}:log`);
        await raw!.zadd(key!, 2, `2:${Date.now()}:{"eventId":42}`);
        const page = await log.read('a', 1, Infinity, 10);
        expect(page.events).to.have.length(1);
        expect(page.events[0]).to.include({ eventId: 'e1', reference: 'Observation/o1', interaction: 'update', number: 1 });
      });
    }

    if (kind === 'redis') {
      it('when Redis loses everything: a new epoch above every number, listeners told, positions report the loss', async () => {
        const [a, b, quiet] = await active(sub('a'), sub('b', [{ parameter: 'code', value: 'y' }]), sub('quiet', [{ parameter: 'code', value: 'q' }]));
        for (const n of [1, 2, 3]) await log.number(event(`e${n}`), [a!, b!, quiet!]);
        const told: number[] = [];
        log.onEpochChange((_prev, next) => told.push(next.floor));
        // Our own server loses everything; someone else's (REDIS_URL) only loses our keys.
        if (redis!.external) await deleteKeys(redis!.url, [prefix]);
        else await raw!.flushall();
        const after = numbersOf(await log.number(event('e4'), [a!, b!]));
        expect(told).to.have.length(1);
        expect(after.a).to.equal(told[0]! + 1);
        expect(after.b).to.equal(told[0]! + 1);
        expect(told[0]).to.be.greaterThan(Date.now() * 1000 - 60_000_000);
        const position = await log.position('a');
        expect(position).to.deep.equal({ count: told[0]! + 1, lostBefore: told[0]! + 1 });
        // One created after the loss lost nothing, yet numbers above the floor too.
        const [later] = await active(sub('later'));
        expect(await log.position('later')).to.deep.equal({ count: told[0] });
        expect(numbersOf(await log.number(event('e5'), [a!, later!]))).to.deep.equal({ a: told[0]! + 2, later: told[0]! + 1 });
        expect((await log.position('later')).lostBefore).to.equal(undefined);
        expect((await log.position('b')).lostBefore).to.equal(told[0]! + 1);
        // Active at the loss, nothing numbered since: it says so, and its count is the floor.
        expect(await log.position('quiet')).to.deep.equal({ count: told[0], lostBefore: told[0]! + 1 });
        expect(await log.read('quiet', 0, Infinity, 10)).to.deep.equal({ count: told[0], lostBefore: told[0]! + 1, firstKept: null, events: [] });
      });
    }
  });
}
