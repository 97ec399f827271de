// The event log's readers as a client meets them: replay on bind (events-since) and $events,
// with a log trimmed to its last 3 entries, on both engines.
import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { RECORD_CHANGE, backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { allNumbers } from '../support/notifications.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient, notificationType } from '../support/ws-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const issues = (f: Record<string, unknown>) => (f.resourceType === 'OperationOutcome' ? (f.issue as Array<{ severity: string; code: string; diagnostics: string; expression?: string[] }>) : []);

for (const kind of ['memory', 'redis'] as const) {
  describe(`event log readers: replay and $events (${kind} engine)`, function () {
    this.timeout(30_000);
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let id: string;
    const clients: WsClient[] = [];

    before(async () => {
      upstream = await startUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', EVENT_LOG_MAX: '3' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'q'.repeat(32), EVENTS_CHANNEL: `${redis.newPrefix()}events` });
      }
      gateway = await startTestGateway(env);
      const res = await fhir<{ id: string }>(
        'POST',
        `${gateway.baseUrl}/Subscription`,
        backportSubscription({ topic: RECORD_CHANGE, filter: 'Observation?patient=Patient/readers', content: 'id-only' }),
      );
      id = res.body.id;
      for (let n = 1; n <= 5; n++) await write();
      await until(async () => (await gateway.eventLog.position(id)).count === 5, 'five events numbered');
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await redis?.stop();
    });

    const write = () => fhir('POST', `${gateway.baseUrl}/Observation`, { resourceType: 'Observation', status: 'final', code: { text: 'r' }, subject: { reference: 'Patient/readers' } });
    async function bound(since: number): Promise<WsClient> {
      const t = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${gateway.baseUrl}/Subscription/${id}/$get-ws-binding-token`);
      const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      clients.push(c);
      c.send(`bind-with-token ${t.body.parameter.find((p) => p.name === 'token')!.valueString!} events-since=${since}`);
      await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
      return c;
    }

    it('events-since=0 replays from the first event still kept, without a warning', async () => {
      const c = await bound(0);
      await until(() => allNumbers(c.frames).length >= 3, 'the kept events');
      await sleep(200);
      expect(allNumbers(c.frames)).to.deep.equal([3, 4, 5]);
      expect(c.frames.flatMap(issues)).to.deep.equal([]);
    });

    it('events-since below what is kept replays what is kept, with a warning naming the subscription', async () => {
      const c = await bound(1);
      await until(() => allNumbers(c.frames).length >= 3, 'the kept events');
      expect(allNumbers(c.frames)).to.deep.equal([3, 4, 5]);
      const [warning] = c.frames.flatMap(issues);
      expect(warning).to.include({ severity: 'warning', code: 'not-found' });
      expect(warning!.expression).to.deep.equal([`Subscription/${id}`]);
    });

    it('events-since beyond the current count gets an error frame, and the binding still receives what comes next', async () => {
      const current = (await gateway.eventLog.position(id)).count;
      const c = await bound(current + 5);
      const error = await c.next((f) => issues(f).length > 0, 'the error frame');
      expect(issues(error)[0]).to.include({ severity: 'error', code: 'invalid' });
      expect(issues(error)[0]!.diagnostics).to.contain(`beyond the last event of Subscription/${id} (${current})`);
      await write();
      await until(() => allNumbers(c.frames).length >= 1, 'the next live event');
      expect(allNumbers(c.frames)).to.deep.equal([current + 1]);
    });

    it('events-since just past the count is valid: nothing to replay, no error', async () => {
      const current = (await gateway.eventLog.position(id)).count;
      const c = await bound(current + 1);
      await sleep(300);
      expect(c.frames.flatMap(issues)).to.deep.equal([]);
      expect(allNumbers(c.frames)).to.deep.equal([]);
    });

    it('$events with eventsSinceNumber=0 answers from the first kept event; a trimmed start is a 410', async () => {
      const current = (await gateway.eventLog.position(id)).count;
      const res = await fhir<{ entry: Array<{ resource: { parameter?: Array<{ name: string; part?: Array<{ name: string; valueString?: string }> }> } }> }>(
        'GET',
        `${gateway.baseUrl}/Subscription/${id}/$events?eventsSinceNumber=0`,
      );
      expect(res.status).to.equal(200);
      const numbers = res.body.entry[0]!.resource.parameter!.filter((p) => p.name === 'notification-event').map((p) => Number(p.part!.find((x) => x.name === 'event-number')!.valueString));
      expect(numbers).to.deep.equal([current - 2, current - 1, current]);
      expect((await fhir('GET', `${gateway.baseUrl}/Subscription/${id}/$events?eventsSinceNumber=1`)).status).to.equal(410);
    });

    it('a live event that arrives while a bind is still reading its position is sent after the handshake, with no replay of older events', async () => {
      const t = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('GET', `${gateway.baseUrl}/Subscription/${id}/$get-ws-binding-token`);
      const before = (await gateway.eventLog.position(id)).count;
      // Hold the bind's position read until an event has been numbered and delivered meanwhile.
      const log = gateway.eventLog;
      const position = log.position.bind(log);
      let held = false;
      log.position = async (sub: string) => {
        if (held) return position(sub);
        held = true;
        await write();
        await until(async () => (await position(sub)).count === before + 1, 'the event numbered during the bind');
        await sleep(100);
        return position(sub);
      };
      try {
        const c = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
        clients.push(c);
        c.send(`bind-with-token ${t.body.parameter.find((p) => p.name === 'token')!.valueString!}`);
        await c.next((f) => notificationType(f) === 'handshake', 'the handshake');
        await write();
        await until(() => allNumbers(c.frames).length >= 1, 'the next event');
        await sleep(300);
        // The first frame is the handshake; only events after the position it reports follow.
        expect(notificationType(c.frames[0]!)).to.equal('handshake');
        expect(allNumbers(c.frames)).to.deep.equal([before + 2]);
      } finally {
        log.position = position;
      }
    });
  });
}
