// The engine's numbered-stream primitives (the storage of src/eventlog/), asked of every engine:
// memory, a plain Redis and a Cluster (where the hash-tag rule bites).
import { expect } from 'chai';
import { pino } from 'pino';
import { createEngine, type Engine, type RedisConnection } from '../../src/engine/index.js';
import { randomPrefix, startRedis, startRedisCluster, type TestRedis } from '../support/redis.js';

type Variant = 'memory' | 'redis' | 'redis-cluster';
const variants: Variant[] = process.env.REDIS_URL ? ['memory', 'redis'] : ['memory', 'redis', 'redis-cluster'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const variant of variants) {
  describe(`numbered streams (${variant} engine)`, function () {
    this.timeout(30_000);
    let redis: TestRedis | undefined;
    let connection: RedisConnection | undefined;
    let stopServers: (() => Promise<void>) | undefined;
    let engine: Engine;
    const opts = { maxLen: 100, maxAgeMs: 60_000 };
    const item = (stream: string, id: string, data = id) => ({ state: `{${stream}}:state`, log: `{${stream}}:log`, idKey: `{${stream}}:id:${id}`, data });

    before(async function () {
      if (variant === 'redis') {
        redis = await startRedis();
        connection = { url: redis.url };
        stopServers = () => redis!.stop();
      } else if (variant === 'redis-cluster') {
        const cluster = await startRedisCluster();
        connection = { cluster: { nodes: cluster.nodes } };
        stopServers = cluster.stop;
      }
    });
    after(async () => stopServers?.());
    beforeEach(async () => {
      const keyPrefix = redis ? redis.newPrefix() : randomPrefix();
      engine = createEngine({ redis: connection && { ...connection, keyPrefix } }, pino({ level: 'silent' }));
      await engine.start();
    });
    afterEach(async () => engine.close());

    it('appends with consecutive numbers, one step per item, across streams in one call', async () => {
      const out = await engine.streamAppend([item('a', 'e1'), item('b', 'e1'), item('a', 'e2')], opts);
      expect(out.map((o) => [o.seq, o.fresh])).to.deep.equal([
        [1, true],
        [1, true],
        [2, true],
      ]);
      expect((await engine.logRange('{a}:log', 1, Infinity)).map((e) => [e.seq, e.data])).to.deep.equal([
        [1, 'e1'],
        [2, 'e2'],
      ]);
    });

    it('is idempotent per id: appending the same id again returns its number and adds nothing', async () => {
      await engine.streamAppend([item('a', 'e1'), item('a', 'e2')], opts);
      const again = await engine.streamAppend([item('a', 'e1', 'other data')], opts);
      expect(again).to.deep.equal([{ seq: 1, gen: 0, fresh: false }]);
      expect(await engine.logBounds('{a}:log')).to.deep.equal({ first: 1, last: 2 });
    });

    it('trims by count and by age, and forgets ids only after the age', async () => {
      for (let i = 1; i <= 5; i++) await engine.streamAppend([item('a', `e${i}`)], { ...opts, maxLen: 2 });
      expect(await engine.logBounds('{a}:log')).to.deep.equal({ first: 4, last: 5 });
      // Trimmed by count, yet still remembered: a late retry of e1 keeps its number.
      expect((await engine.streamAppend([item('a', 'e1')], { ...opts, maxLen: 2 }))[0]!.seq).to.equal(1);
      const aged = { maxLen: 100, maxAgeMs: 80 };
      await engine.streamAppend([item('b', 'x1'), item('b', 'x2')], aged);
      await sleep(150);
      expect((await engine.streamAppend([item('b', 'x3')], aged))[0]!.seq).to.equal(3);
      expect(await engine.logBounds('{b}:log')).to.deep.equal({ first: 3, last: 3 });
      expect((await engine.streamAppend([item('b', 'x1')], aged))[0]).to.include({ seq: 4, fresh: true });
    });

    it('joins with a base so a member numbers from where it joined, and leaving keeps its last number', async () => {
      await engine.streamAppend([item('s', 'e1'), item('s', 'e2')], opts);
      const m = await engine.streamJoin('{s}:state', 'A', 0);
      expect(m).to.deep.equal({ base: 2, joinSeq: 2 });
      expect(await engine.streamJoin('{s}:state', 'A', 99)).to.deep.equal(m); // already a member
      const [e3] = await engine.streamAppend([item('s', 'e3')], opts);
      expect(e3!.seq - m.base).to.equal(1);
      expect(e3!.gen).to.equal(1);
      expect(await engine.streamLeave('{s}:state', 'A')).to.equal(1);
      expect(await engine.streamLeave('{s}:state', 'A')).to.equal(1); // idempotent
      expect(await engine.streamLeave('{s}:state', 'nobody')).to.equal(null);
      await engine.streamAppend([item('s', 'e4')], opts);
      // Back again, continuing from its own last number: its next is 2, not the stream's 5.
      const again = await engine.streamJoin('{s}:state', 'A', -1);
      expect(again).to.deep.equal({ base: 3, joinSeq: 4 });
      const state = await engine.streamState('{s}:state', ['A', 'B']);
      expect(state).to.deep.equal({ seq: 4, gen: 3, members: [{ base: 3, joinSeq: 4 }, null] });
      await engine.streamLeave('{s}:state', 'A');
      expect((await engine.streamState('{s}:state', ['A'])).members).to.deep.equal([{ left: 1 }]);
    });

    it('keeps numbers above 2^31 exact (an epoch floor)', async () => {
      const floor = 1_765_000_000_000_000;
      const m = await engine.streamJoin('{f}:state', 'A', floor);
      const [e] = await engine.streamAppend([item('f', 'e1')], opts);
      expect(e!.seq - m.base).to.equal(floor + 1);
      expect(await engine.streamLeave('{f}:state', 'A')).to.equal(floor + 1);
    });

    it('compare-and-set, and many values in one call', async () => {
      expect(await engine.setIf('k', null, 'v1')).to.equal(true);
      expect(await engine.setIf('k', null, 'v2')).to.equal(false);
      expect(await engine.setIf('k', 'v0', 'v2')).to.equal(false);
      expect(await engine.setIf('k', 'v1', 'v2')).to.equal(true);
      await engine.set('other', 'o');
      expect(await engine.getMany(['k', 'missing', 'other'])).to.deep.equal(['v2', null, 'o']);
      expect(await engine.getMany([])).to.deep.equal([]);
    });

    it('refuses stream keys that do not share a hash tag', async () => {
      let error: unknown;
      await engine.streamAppend([{ state: '{a}:state', log: '{b}:log', idKey: '{a}:id:1', data: '' }], opts).catch((e: unknown) => (error = e));
      expect(String(error)).to.match(/hash tag/);
    });
  });
}
