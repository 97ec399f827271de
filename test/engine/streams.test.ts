// The durable input's primitives (streams.ts), asked of both engines alike.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { randomPrefix, startRedis, type TestRedis } from '../support/redis.js';

for (const kind of ['memory', 'redis'] as const) {
  describe(`${kind} engine streams`, function () {
    let redis: TestRedis | undefined;
    let engine: Engine;
    let stream: string;
    const opened: Engine[] = [];
    const logger = pino({ level: 'silent' });

    /** Another replica's view (memory: the same engine, as its state is per process). */
    async function open(): Promise<Engine> {
      if (kind === 'memory' && opened.length > 0) return engine;
      const e = createEngine(redis ? { redis: { url: redis.url, keyPrefix: randomPrefix() } } : {}, logger);
      opened.push(e);
      await e.start();
      return e;
    }

    before(async () => {
      if (kind === 'redis') redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });
    beforeEach(async () => {
      stream = `${redis ? redis.newPrefix() : randomPrefix()}events`;
      engine = await open();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((e) => e.close()));
    });

    it('hands each new entry to one consumer of a group, and keeps it pending until acknowledged', async () => {
      await engine.streamEnsureGroup(stream, 'g');
      await engine.streamEnsureGroup(stream, 'g'); // idempotent
      const ids = [await engine.streamAdd(stream, { event: 'a' }, 1000), await engine.streamAdd(stream, { event: 'b' }, 1000)];
      const first = await engine.streamRead(stream, 'g', 'c1', { count: 1, blockMs: 0 });
      const second = await engine.streamRead(stream, 'g', 'c2', { count: 10, blockMs: 0 });
      expect(first).to.deep.equal([{ id: ids[0], fields: { event: 'a' } }]);
      expect(second).to.deep.equal([{ id: ids[1], fields: { event: 'b' } }]);
      expect(await engine.streamRead(stream, 'g', 'c1', { count: 10, blockMs: 0 })).to.deep.equal([]);
      // Pending, not idle long enough: nobody takes it yet.
      expect(await engine.streamClaimIdle(stream, 'g', 'c3', 60_000, 10)).to.deep.equal([]);
      expect(await engine.streamAck(stream, 'g', [ids[0]!])).to.equal(1);
      expect(await engine.streamAck(stream, 'g', [ids[0]!])).to.equal(0);
    });

    it('gives entries a stopped consumer left pending to another after the idle time', async () => {
      await engine.streamEnsureGroup(stream, 'g');
      const id = await engine.streamAdd(stream, { event: 'x' }, 1000);
      expect(await engine.streamRead(stream, 'g', 'dead', { count: 10, blockMs: 0 })).to.have.length(1);
      await new Promise((r) => setTimeout(r, 60));
      const other = await open();
      const claimed = await other.streamClaimIdle(stream, 'g', 'alive', 50, 10);
      expect(claimed).to.deep.equal([{ id, fields: { event: 'x' } }]);
      // Now it is alive's, and freshly delivered: not idle.
      expect(await other.streamClaimIdle(stream, 'g', 'third', 50, 10)).to.deep.equal([]);
      expect(await other.streamAck(stream, 'g', [id])).to.equal(1);
      await new Promise((r) => setTimeout(r, 60));
      expect(await other.streamClaimIdle(stream, 'g', 'third', 50, 10)).to.deep.equal([]);
    });

    it('waits up to blockMs for an entry, and answers as soon as one is added', async () => {
      await engine.streamEnsureGroup(stream, 'g');
      const started = Date.now();
      expect(await engine.streamRead(stream, 'g', 'c', { count: 10, blockMs: 150 })).to.deep.equal([]);
      expect(Date.now() - started).to.be.at.least(100);
      const reading = engine.streamRead(stream, 'g', 'c', { count: 10, blockMs: 3000 });
      const writer = await open();
      await new Promise((r) => setTimeout(r, 50));
      await writer.streamAdd(stream, { event: 'late' }, 1000);
      const got = await reading;
      expect(got.map((e) => e.fields.event)).to.deep.equal(['late']);
    });

    it('starts a new group at the end of the stream', async () => {
      for (let i = 0; i < 30; i++) await engine.streamAdd(stream, { event: String(i) }, 1000);
      await engine.streamEnsureGroup(stream, 'late');
      expect(await engine.streamRead(stream, 'late', 'c', { count: 100, blockMs: 0 })).to.deep.equal([]);
      expect(await engine.streamTrim(stream, 3_600_000), 'nothing is an hour old').to.equal(0);
    });

    if (kind === 'redis') {
      it('takes the entries producers XADD by hand, and re-creates a group that vanished', async () => {
        const producer = new Redis(redis!.url);
        producer.on('error', () => undefined);
        try {
          await engine.streamEnsureGroup(stream, 'g');
          await producer.xadd(stream, '*', 'event', '{"x":1}');
          expect((await engine.streamRead(stream, 'g', 'c', { count: 10, blockMs: 0 }))[0]!.fields).to.deep.equal({ event: '{"x":1}' });
          expect(await producer.exists(stream), 'the stream name carries no key prefix').to.equal(1);
          await producer.del(stream);
          expect(await engine.streamRead(stream, 'g', 'c', { count: 10, blockMs: 0 })).to.deep.equal([]);
          await producer.xadd(stream, '*', 'event', 'again');
          expect((await engine.streamRead(stream, 'g', 'c', { count: 10, blockMs: 0 })).map((e) => e.fields.event)).to.deep.equal(['again']);
        } finally {
          producer.disconnect();
        }
      });
    }

    it('rejects bad arguments alike', async () => {
      await expectReject(engine.streamAdd('', { event: 'x' }, 10));
      await expectReject(engine.streamAdd(stream, { event: 'x' }, 0));
      await expectReject(engine.streamRead(stream, '', 'c', { count: 1, blockMs: 0 }));
      await expectReject(engine.streamRead(stream, 'g', 'c', { count: 0, blockMs: 0 }));
    });
  });
}

async function expectReject(p: Promise<unknown>): Promise<void> {
  let failed = false;
  await p.catch(() => (failed = true));
  expect(failed).to.equal(true);
}
