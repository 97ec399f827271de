// The same behaviour, asked of both engines: code written against the memory engine must work
// unchanged on Redis. The Redis runs are against real servers (test/support/redis.ts): a plain
// redis-server (or REDIS_URL), and, when we run our own servers, Sentinel and Cluster too, since
// the hash-tag and pipelining rules only bite on a Cluster.
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createEngine, type Engine, type MessageHandler, type RedisConnection, type RedisEngineOptions } from '../../src/engine/index.js';
import type { Logger } from '../../src/log.js';
import { freePort, randomPrefix, startRedis, startRedisCluster, startRedisSentinel, type TestRedis } from '../support/redis.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface LogLine {
  level: number;
  msg: string;
  channel?: string;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function collector(): { messages: string[]; handler: MessageHandler } {
  const messages: string[] = [];
  return { messages, handler: (m) => void messages.push(m) };
}

const fixture = fileURLToPath(new URL('./fixtures/close-exits.ts', import.meta.url));

/** Runs the fixture in a fresh node process; resolves with its exit code and output, or fails
 * if it is still running after timeoutMs (i.e. something kept the event loop alive). */
function runFixture(args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture did not exit within ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Variant = 'memory' | 'redis' | 'redis-sentinel' | 'redis-cluster';
// With REDIS_URL the Redis is someone else's; Sentinel and Cluster need servers of our own.
const variants: Variant[] = process.env.REDIS_URL ? ['memory', 'redis'] : ['memory', 'redis', 'redis-sentinel', 'redis-cluster'];

for (const variant of variants) {
  const kind = variant === 'memory' ? 'memory' : 'redis';
  describe(`${variant} engine`, function () {
    let redis: TestRedis | undefined;
    let connection: RedisConnection | undefined;
    let stopServers: (() => Promise<void>) | undefined;
    let keyPrefix: string;
    let engine: Engine;
    let logLines: LogLine[];
    const opened: Engine[] = [];

    /** Another replica's view of the same state (Redis: its own connections; memory: the
     * same engine, since memory state is per process by definition). */
    function redisOptions(extra: { connectionName?: string } = {}): RedisEngineOptions | undefined {
      return connection && { ...connection, keyPrefix, ...extra };
    }

    async function peer(): Promise<Engine> {
      if (kind === 'memory') return engine;
      const other = createEngine({ redis: redisOptions() }, captureLogger().logger);
      opened.push(other);
      await other.start();
      return other;
    }

    before(async function () {
      this.timeout(30_000);
      if (variant === 'redis') {
        redis = await startRedis();
        connection = { url: redis.url };
        stopServers = () => redis!.stop();
      } else if (variant === 'redis-sentinel') {
        const sentinel = await startRedisSentinel();
        connection = { sentinel: { sentinels: sentinel.sentinels, name: sentinel.name } };
        stopServers = sentinel.stop;
      } else if (variant === 'redis-cluster') {
        const cluster = await startRedisCluster();
        connection = { cluster: { nodes: cluster.nodes } };
        stopServers = cluster.stop;
      }
    });

    after(async function () {
      await stopServers?.();
    });

    beforeEach(async function () {
      const capture = captureLogger();
      logLines = capture.lines;
      keyPrefix = redis ? redis.newPrefix() : randomPrefix();
      engine = createEngine({ redis: redisOptions() }, capture.logger);
      opened.push(engine);
      await engine.start();
    });

    afterEach(async function () {
      await Promise.all(opened.splice(0).map((e) => e.close()));
    });

    it('reports its kind and readiness', async function () {
      expect(engine.kind).to.equal(kind);
      expect(engine.isReady()).to.equal(true);
      await engine.close();
      expect(engine.isReady()).to.equal(false);
      await engine.close(); // idempotent
      let error: unknown;
      await engine.get('k').catch((err: unknown) => (error = err));
      expect(String(error)).to.contain('engine is closed');
    });

    describe('values', function () {
      it('sets, gets and deletes strings', async function () {
        expect(await engine.get('missing')).to.equal(null);
        await engine.set('k', 'v1');
        expect(await engine.get('k')).to.equal('v1');
        await engine.set('k', 'ü ☃ \n : {x}');
        expect(await engine.get('k')).to.equal('ü ☃ \n : {x}');
        expect(await engine.del('k')).to.equal(true);
        expect(await engine.del('k')).to.equal(false);
        expect(await engine.get('k')).to.equal(null);
      });

      it('expires values after ttlMs', async function () {
        await engine.set('short', 'v', { ttlMs: 50 });
        await engine.set('long', 'v', { ttlMs: 5000 });
        expect(await engine.get('short')).to.equal('v');
        await sleep(120);
        expect(await engine.get('short')).to.equal(null);
        expect(await engine.get('long')).to.equal('v');
      });

      it('drops an earlier expiry when set again without ttl, and expire() adds one', async function () {
        await engine.set('k', 'a', { ttlMs: 50 });
        await engine.set('k', 'b');
        expect(await engine.expire('missing', 50)).to.equal(false);
        await engine.set('other', 'x');
        expect(await engine.expire('other', 50)).to.equal(true);
        await sleep(120);
        expect(await engine.get('k')).to.equal('b');
        expect(await engine.get('other')).to.equal(null);
      });

      it('rejects invalid ttls', async function () {
        for (const ttlMs of [0, -1, 1.5, Number.NaN]) {
          let error: unknown;
          await engine.set('k', 'v', { ttlMs }).catch((err: unknown) => (error = err));
          expect(error, String(ttlMs)).to.be.instanceOf(RangeError);
        }
      });
    });

    describe('claim', function () {
      it('lets exactly one of many concurrent callers win, across replicas', async function () {
        const other = await peer();
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? other : engine).claim('event-1', 5000)));
        expect(results.filter(Boolean)).to.have.length(1);
        expect(await engine.claim('event-1', 5000)).to.equal(false);
        expect(await engine.claim('event-2', 5000)).to.equal(true);
      });

      it('can be claimed again once the claim expired', async function () {
        expect(await engine.claim('event', 50)).to.equal(true);
        expect(await engine.claim('event', 50)).to.equal(false);
        await sleep(120);
        expect(await engine.claim('event', 50)).to.equal(true);
      });
    });

    describe('counters', function () {
      it('increments atomically and reads missing counters as 0', async function () {
        expect(await engine.getCounter('c')).to.equal(0);
        expect(await engine.incr('c')).to.equal(1);
        expect(await engine.incr('c', 5)).to.equal(6);
        expect(await engine.incr('c', -2)).to.equal(4);
        expect(await engine.getCounter('c')).to.equal(4);
        expect(await engine.get('c')).to.equal('4');
        const other = await peer();
        await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : engine).incr('c')));
        expect(await engine.getCounter('c')).to.equal(54);
      });

      it('keeps an expiry across increments, like Redis INCR', async function () {
        await engine.incr('c');
        await engine.expire('c', 60);
        await engine.incr('c');
        await sleep(120);
        expect(await engine.getCounter('c')).to.equal(0);
      });

      it('refuses to count a non-integer value', async function () {
        await engine.set('c', 'not a number');
        let error: unknown;
        await engine.incr('c').catch((err: unknown) => (error = err));
        expect(error).to.be.instanceOf(Error);
        error = undefined;
        await engine.getCounter('c').catch((err: unknown) => (error = err));
        expect(error).to.be.instanceOf(Error);
      });
    });

    describe('hashes', function () {
      it('sets, reads, lists and deletes fields', async function () {
        expect(await engine.hget('h', 'a')).to.equal(null);
        expect(await engine.hgetall('h')).to.deep.equal(new Map());
        await engine.hset('h', 'a', '1');
        await engine.hset('h', 'b', '2');
        await engine.hset('h', 'a', '3');
        expect(await engine.hget('h', 'a')).to.equal('3');
        expect(await engine.hgetall('h')).to.deep.equal(
          new Map([
            ['a', '3'],
            ['b', '2'],
          ]),
        );
        expect(await engine.hdel('h', 'a')).to.equal(true);
        expect(await engine.hdel('h', 'a')).to.equal(false);
        expect(await engine.hdel('h', 'b')).to.equal(true);
        // The last field gone, the key is gone (as in Redis), so it can be reused as any type.
        await engine.set('h', 'now a string');
        expect(await engine.get('h')).to.equal('now a string');
      });

      it('fails on a key of another type, in both engines', async function () {
        await engine.set('s', 'string');
        let error: unknown;
        await engine.hget('s', 'f').catch((err: unknown) => (error = err));
        expect(String(error)).to.contain('WRONGTYPE');
      });

      it('expires a whole hash', async function () {
        await engine.hset('h', 'a', '1');
        expect(await engine.expire('h', 50)).to.equal(true);
        await sleep(120);
        expect(await engine.hgetall('h')).to.deep.equal(new Map());
      });
    });

    describe("numbered streams (the event log's storage; more in stream-log.test.ts)", function () {
      const opts = { maxLen: 1000, maxAgeMs: 60_000 };
      const item = (stream: string, data: string, id = data) => ({ state: `{${stream}}:state`, log: `{${stream}}:log`, idKey: `{${stream}}:id:${id}`, data });
      const seqOf = async (stream: string) => (await engine.streamState(`{${stream}}:state`, [])).seq;

      it('numbers items from 1 per stream, in item order, in one call', async function () {
        expect(await engine.streamAppend([], opts)).to.deep.equal([]);
        const out = await engine.streamAppend([item('a', 'a1'), item('b', 'b1'), item('a', 'a2'), item('a', 'a3')], opts);
        expect(out.map((o) => o.seq)).to.deep.equal([1, 1, 2, 3]);
        expect(await seqOf('a')).to.equal(3);
        const entries = await engine.logRange('{a}:log', 1, Infinity);
        expect(entries.map((e) => [e.seq, e.data])).to.deep.equal([
          [1, 'a1'],
          [2, 'a2'],
          [3, 'a3'],
        ]);
        for (const e of entries) expect(Math.abs(e.at - Date.now())).to.be.below(5000);
        expect(await engine.logBounds('{b}:log')).to.deep.equal({ first: 1, last: 1 });
      });

      it('never repeats or skips a number under concurrency from two replicas', async function () {
        const other = await peer();
        const calls = Array.from({ length: 200 }, (_, i) => (i % 2 ? other : engine).streamAppend([item('hot', `d${i}`)], opts).then(([r]) => ({ i, seq: r!.seq })));
        const results = await Promise.all(calls);
        const seqs = results.map((r) => r.seq).sort((x, y) => x - y);
        expect(seqs).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
        // Each number's log entry carries the data of the call that was given that number.
        const entries = await engine.logRange('{hot}:log', 1, 200);
        expect(entries.map((e) => e.seq)).to.deep.equal(seqs);
        const bySeq = new Map(entries.map((e) => [e.seq, e.data]));
        for (const r of results) expect(bySeq.get(r.seq)).to.equal(`d${r.i}`);
      });

      it('gives the same id the same number from two replicas at once, and logs it once', async function () {
        const other = await peer();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : engine).streamAppend([item('same', 'payload', 'one-event')], opts)));
        expect(new Set(results.map(([r]) => r!.seq))).to.deep.equal(new Set([1]));
        expect(results.filter(([r]) => r!.fresh)).to.have.length(1);
        expect(await engine.logBounds('{same}:log')).to.deep.equal({ first: 1, last: 1 });
      });

      it('keeps only the newest maxLen entries', async function () {
        for (let i = 1; i <= 10; i++) await engine.streamAppend([item('s', `x${i}`)], { ...opts, maxLen: 3 });
        expect(await engine.logBounds('{s}:log')).to.deep.equal({ first: 8, last: 10 });
        expect((await engine.logRange('{s}:log', 1, Infinity)).map((e) => e.data)).to.deep.equal(['x8', 'x9', 'x10']);
        expect(await seqOf('s')).to.equal(10);
      });

      it('drops entries older than maxAgeMs when appending', async function () {
        const aged = { ...opts, maxAgeMs: 80 };
        await engine.streamAppend([item('s', '1'), item('s', '2'), item('s', '3')], aged);
        await sleep(130);
        expect((await engine.streamAppend([item('s', '4')], aged)).map((r) => r.seq)).to.deep.equal([4]);
        expect(await engine.logBounds('{s}:log')).to.deep.equal({ first: 4, last: 4 });
      });

      it('drops many aged entries at once', async function () {
        const aged = { ...opts, maxAgeMs: 80 };
        await engine.streamAppend(
          Array.from({ length: 150 }, (_, i) => item('s', String(i))),
          aged,
        );
        await sleep(130);
        await engine.streamAppend([item('s', 'new')], aged);
        expect(await engine.logRange('{s}:log', 1, Infinity)).to.have.length(1);
      });

      it('reads inclusive ranges, with a limit, and reports bounds', async function () {
        await engine.streamAppend(
          Array.from({ length: 10 }, (_, i) => item('s', `x${i + 1}`)),
          opts,
        );
        const seqs = async (from: number, to: number, limit?: number) => (await engine.logRange('{s}:log', from, to, limit)).map((e) => e.seq);
        expect(await seqs(3, 6)).to.deep.equal([3, 4, 5, 6]);
        expect(await seqs(3, 6, 2)).to.deep.equal([3, 4]);
        expect(await seqs(9, Infinity)).to.deep.equal([9, 10]);
        expect(await seqs(11, 20)).to.deep.equal([]);
        expect(await seqs(0, 1)).to.deep.equal([1]);
        expect(await engine.logBounds('{s}:log')).to.deep.equal({ first: 1, last: 10 });
        expect(await engine.logBounds('{none}:log')).to.equal(null);
        expect(await engine.logRange('{none}:log', 1, 10)).to.deep.equal([]);
      });

      it('keeps data with separators and unicode intact', async function () {
        const data = '{"a":"b:c"}\n:42:☃';
        await engine.streamAppend([item('s', data, 'sep'), item('s', '', 'empty')], opts);
        expect((await engine.logRange('{s}:log', 1, 2)).map((e) => e.data)).to.deep.equal([data, '']);
      });

      it('lets an idle log expire after maxAgeMs, keeping the counter', async function () {
        await engine.streamAppend([item('s', 'x')], { ...opts, maxAgeMs: 60 });
        await sleep(130);
        expect(await engine.logBounds('{s}:log')).to.equal(null);
        expect(await seqOf('s')).to.equal(1);
      });

      it('requires the keys of a stream to share a {hash tag}', async function () {
        for (const bad of [
          { state: 'state', log: 'log', idKey: 'id', data: '' },
          { state: '{a}:state', log: '{b}:log', idKey: '{a}:id', data: '' },
          { state: '{a}:state', log: '{a}:log', idKey: '{b}:id', data: '' },
          { state: '{}:state', log: '{}:log', idKey: '{}:id', data: '' },
        ]) {
          let error: unknown;
          await engine.streamAppend([bad], opts).catch((err: unknown) => (error = err));
          expect(String(error), JSON.stringify(bad)).to.contain('hash tag');
        }
        let error: unknown;
        await engine.streamAppend([item('s', 'x')], { maxLen: 0, maxAgeMs: 10 }).catch((err: unknown) => (error = err));
        expect(error).to.be.instanceOf(RangeError);
      });

      it('runs every item and reports a failing one', async function () {
        await engine.set('{bad}:state', 'not a hash');
        let error: unknown;
        await engine.streamAppend([item('ok', 'a'), item('bad', 'b'), item('ok', 'c')], opts).catch((err: unknown) => (error = err));
        expect(error).to.be.instanceOf(Error);
        expect(await seqOf('ok')).to.equal(2);
      });
    });

    describe('publish/subscribe', function () {
      it('delivers to its own subscribers, in order, after publish returns', async function () {
        const { messages, handler } = collector();
        await engine.subscribe('ch', handler);
        for (let i = 0; i < 50; i++) await engine.publish('ch', `m${i}`);
        await until(() => messages.length === 50, '50 messages');
        expect(messages).to.deep.equal(Array.from({ length: 50 }, (_, i) => `m${i}`));
      });

      it('delivers asynchronously', async function () {
        const { messages, handler } = collector();
        await engine.subscribe('ch', handler);
        const publishing = engine.publish('ch', 'm');
        expect(messages).to.deep.equal([]);
        await publishing;
        await until(() => messages.length === 1, 'the message');
      });

      it('delivers across replicas', async function () {
        const other = await peer();
        const { messages, handler } = collector();
        await other.subscribe('ch', handler);
        await engine.publish('ch', 'from engine');
        await until(() => messages.length === 1, 'the message');
        expect(messages).to.deep.equal(['from engine']);
      });

      it('keeps channels apart', async function () {
        const a = collector();
        const b = collector();
        await engine.subscribe('a', a.handler);
        await engine.subscribe('b', b.handler);
        await engine.publish('a', '1');
        await engine.publish('b', '2');
        await until(() => a.messages.length === 1 && b.messages.length === 1, 'both messages');
        expect(a.messages).to.deep.equal(['1']);
        expect(b.messages).to.deep.equal(['2']);
      });

      it('supports several handlers per channel and unsubscribing one of them', async function () {
        const first = collector();
        const second = collector();
        const stopFirst = await engine.subscribe('ch', first.handler);
        // The same function twice is two subscriptions.
        await engine.subscribe('ch', second.handler);
        const stopSecondAgain = await engine.subscribe('ch', second.handler);
        await engine.publish('ch', 'one');
        await until(() => first.messages.length === 1 && second.messages.length === 2, 'three deliveries');
        await stopFirst();
        await stopFirst(); // idempotent
        await stopSecondAgain();
        await engine.publish('ch', 'two');
        await until(() => second.messages.length === 3, 'the second message');
        expect(first.messages).to.deep.equal(['one']);
        expect(second.messages).to.deep.equal(['one', 'one', 'two']);
      });

      it('stops delivering after the last handler unsubscribes, and can subscribe again', async function () {
        const gone = collector();
        const stop = await engine.subscribe('ch', gone.handler);
        await stop();
        const marker = collector();
        await engine.subscribe('other', marker.handler);
        await engine.publish('ch', 'lost');
        await engine.publish('other', 'marker');
        await until(() => marker.messages.length === 1, 'the marker');
        await sleep(20);
        expect(gone.messages).to.deep.equal([]);
        const again = collector();
        await engine.subscribe('ch', again.handler);
        await engine.publish('ch', 'back');
        await until(() => again.messages.length === 1, 'the message after resubscribing');
      });

      it('handles subscribe and unsubscribe racing on one channel', async function () {
        const c = collector();
        const stop = await engine.subscribe('ch', () => undefined);
        const [, resubscribed] = await Promise.all([stop(), engine.subscribe('ch', c.handler)]);
        await engine.publish('ch', 'still here');
        await until(() => c.messages.length === 1, 'the message');
        await resubscribed();
      });

      it('isolates a throwing or rejecting handler from the others, and logs it', async function () {
        const ok = collector();
        await engine.subscribe('ch', () => {
          throw new Error('boom');
        });
        await engine.subscribe('ch', async () => {
          throw new Error('async boom');
        });
        await engine.subscribe('ch', ok.handler);
        await engine.publish('ch', '1');
        await engine.publish('ch', '2');
        await until(() => ok.messages.length === 2, 'both messages');
        await until(() => logLines.length === 4, 'four error logs');
        expect(logLines.every((l) => l.msg === 'message handler failed')).to.equal(true);
      });

      it('keeps raw channels apart from prefixed ones of the same name', async function () {
        const rawName = `${randomPrefix('raw')}fhir:resource-changes`;
        const raw = collector();
        const prefixed = collector();
        await engine.subscribe(rawName, raw.handler, { raw: true });
        await engine.subscribe(rawName, prefixed.handler);
        await engine.publish(rawName, 'to raw', { raw: true });
        await engine.publish(rawName, 'to prefixed');
        await until(() => raw.messages.length === 1 && prefixed.messages.length === 1, 'both messages');
        expect(raw.messages).to.deep.equal(['to raw']);
        expect(prefixed.messages).to.deep.equal(['to prefixed']);
      });
    });

    describe('lifecycle', function () {
      it('lets the process exit after close()', async function () {
        this.timeout(15_000);
        const args = kind === 'redis' ? ['redis', JSON.stringify(redisOptions())] : ['memory'];
        const result = await runFixture(args);
        expect(result.stderr).to.equal('');
        expect(result.code).to.equal(0);
        expect(result.stdout).to.equal('done\n');
      });

      if (kind === 'memory') {
        it('does not keep the process alive even without close()', async function () {
          this.timeout(15_000);
          const result = await runFixture(['memory-no-close']);
          expect(result.code).to.equal(0);
        });
      }
    });

    if (variant === 'redis') {
      describe('redis specifics', function () {
        it('fails start() with a clear error when Redis cannot be reached in time', async function () {
          const port = await freePort();
          const { logger } = captureLogger();
          const unreachable = createEngine({ redis: { url: `redis://user:secret@127.0.0.1:${port}`, connectTimeoutMs: 300 } }, logger);
          const started = Date.now();
          let error: unknown;
          await unreachable.start().catch((err: unknown) => (error = err));
          expect(Date.now() - started).to.be.below(2000);
          expect(String(error)).to.match(new RegExp(`redis://127\\.0\\.0\\.1:${port}.*not ready within 300 ms.*ECONNREFUSED`));
          expect(String(error)).not.to.contain('secret');
          expect(unreachable.isReady()).to.equal(false);
          await unreachable.close();
        });

        it('prefixes keys and non-raw channels with keyPrefix, and reaches raw producers', async function () {
          const plain = new Redis(redis!.url);
          plain.on('error', () => undefined);
          try {
            await engine.set('k', 'v');
            expect(await plain.get(`${keyPrefix}k`)).to.equal('v');
            // An external producer publishing to the exact EVENTS_CHANNEL name.
            const rawName = `${keyPrefix}events`;
            const raw = collector();
            await engine.subscribe(rawName, raw.handler, { raw: true });
            await plain.publish(rawName, 'external');
            const prefixed = collector();
            await engine.subscribe('chan', prefixed.handler);
            await plain.publish(`${keyPrefix}chan`, 'internal');
            await until(() => raw.messages.length === 1 && prefixed.messages.length === 1, 'both messages');
          } finally {
            plain.disconnect();
          }
        });

        it('resubscribes after the subscriber connection is killed', async function () {
          const name = `${keyPrefix}conn`;
          const own = createEngine({ redis: redisOptions({ connectionName: name }) }, captureLogger().logger);
          opened.push(own);
          await own.start();
          const c = collector();
          await own.subscribe('ch', c.handler);
          const admin = new Redis(redis!.url);
          admin.on('error', () => undefined);
          try {
            // Kill only our own subscriber, found by its name: safe on a shared Redis.
            const subscriberId = async (): Promise<string | undefined> => {
              const list = String(await admin.call('CLIENT', 'LIST'));
              const line = list.split('\n').find((l) => l.includes(` name=${name}:sub `));
              return line ? /^id=(\d+) /.exec(line)?.[1] : undefined;
            };
            const killed = await subscriberId();
            expect(killed, 'subscriber connection in CLIENT LIST').to.be.a('string');
            expect(await admin.call('CLIENT', 'KILL', 'ID', killed!)).to.equal(1);
            // Keep publishing until a message arrives: it can only arrive once resubscribed.
            await until(
              () => {
                own.publish('ch', 'after reconnect').catch(() => undefined);
                return c.messages.length > 0;
              },
              'a message after reconnecting',
              5000,
            );
            const replacement = await subscriberId();
            expect(replacement).to.be.a('string').and.not.equal(killed);
            await until(() => own.isReady(), 'readiness');
          } finally {
            admin.disconnect();
          }
        });

        // SCRIPT FLUSH would touch everyone's scripts on a shared Redis: only on our own server.
        if (!process.env.REDIS_URL)
          it('reloads its scripts when the server has forgotten them', async () => {
            const item = (id: string) => ({ state: '{s}:state', log: '{s}:log', idKey: `{s}:id:${id}`, data: 'x' });
            const opts = { maxLen: 10, maxAgeMs: 60_000 };
            expect((await engine.streamAppend([item('1')], opts)).map((r) => r.seq)).to.deep.equal([1]);
            const admin = new Redis(redis!.url);
            admin.on('error', () => undefined);
            try {
              await admin.script('FLUSH');
            } finally {
              admin.disconnect();
            }
            expect((await engine.streamAppend([item('2'), item('3')], opts)).map((r) => r.seq)).to.deep.equal([2, 3]);
            expect(await engine.logBounds('{s}:log')).to.deep.equal({ first: 1, last: 3 });
          });

        it('logs connection errors once each instead of once per retry', async function () {
          const port = await freePort();
          const capture = captureLogger();
          const failing = createEngine({ redis: { url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 600 } }, capture.logger);
          await failing.start().catch(() => undefined);
          const errors = capture.lines.filter((l) => l.msg === 'redis connection error');
          // One distinct error per connection (command and subscriber), despite several retries.
          expect(errors).to.have.length(2);
        });
      });
    }
  });
}
