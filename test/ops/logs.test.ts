import { expect } from 'chai';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger, REPLICA } from '../../src/log.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';
import { WsClient } from '../support/ws-client.js';

/** A pino destination that keeps what it is given. */
function capture() {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    get text() {
      return chunks.join('');
    },
    lines(): Array<Record<string, unknown>> {
      return chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

const CREDENTIAL = 'Bearer user-credential-7f3a9c1e';

describe('logs a person can follow', () => {
  describe('one bind → event → notification at debug', () => {
    let upstream: DemoUpstream;
    let gateway: Gateway;
    const out = capture();
    let token: string;
    let subscription: string;

    before(async function () {
      this.timeout(60_000);
      upstream = await startUpstream();
      const config = loadConfig({ CONFIG_FILE: '', PORT: '0', HOST: '127.0.0.1', FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR: 'test/fixtures/topics', LOG_SUMMARY_INTERVAL_MS: '1000' });
      gateway = await startGateway({ ...config, fhirUpstreamUrl: upstream.url }, createLogger('debug', { format: 'json', destination: out.stream }));
      const auth = { authorization: CREDENTIAL };
      subscription = (await fhir<{ id: string }>('POST', `${gateway.baseUrl}/Subscription`, backportSubscription({ filter: 'patient=Patient/log-1' }), auth)).body.id;
      const answer = await fhir<{ parameter: Array<{ name: string; valueString?: string }> }>('POST', `${gateway.baseUrl}/Subscription/${subscription}/$get-ws-binding-token`, undefined, auth);
      token = answer.body.parameter.find((p) => p.name === 'token')!.valueString!;
      const ws = await WsClient.connect(`ws://127.0.0.1:${gateway.port}/ws`);
      ws.send(`bind-with-token ${token}`);
      await ws.next((f) => f.resourceType === 'Bundle', 'the handshake');
      await fhir('POST', `${gateway.baseUrl}/Encounter`, { resourceType: 'Encounter', status: 'in-progress', class: { code: 'IMP' }, subject: { reference: 'Patient/log-1' } }, auth);
      await ws.next((f) => JSON.stringify(f).includes('"event-notification"'), 'the notification');
      // A token the gateway refuses is logged about too, and must not be logged either.
      ws.send(`bind-with-token ${token}x`);
      await until(() => out.text.includes('token'), 'something about the refused token');
      ws.close();
      await until(() => out.lines().some((l) => l.msg === 'activity summary' && (l.notificationsSent as number) >= 1), 'an activity summary', 5000);
    });
    after(async () => {
      await gateway?.close();
      await upstream?.close();
    });

    it('logs the bind with its subscription, dialect and replica', () => {
      const bound = out.lines().find((l) => l.msg === 'subscription bound');
      expect(bound).to.include({ level: 20, subscription, dialect: 'spec', replica: REPLICA, renewed: false, eventsSoFar: 0 });
    });

    it('logs the event matched, with its id, how many subscriptions and how long it took', () => {
      const matched = out.lines().find((l) => l.msg === 'event matched');
      expect(matched).to.include({ level: 20, subscriptions: 1, interaction: 'create' });
      expect(matched!.event).to.match(/^Encounter\/[^/]+\/_history\/1:create$/);
      expect(matched!.numbers).to.deep.equal([`${subscription}#1`]);
      expect(matched!.tookMs).to.be.a('number').at.least(0);
    });

    it('logs the notification sent, with its number, event and socket', () => {
      const sent = out.lines().find((l) => l.msg === 'notification sent');
      expect(sent).to.include({ level: 20, subscription, eventNumber: 1 });
      expect(sent!.focus).to.match(/^Encounter\//);
      expect(sent!.bytes).to.be.a('number').greaterThan(100);
    });

    it('says once per interval at info what the replica did', () => {
      const summary = out.lines().find((l) => l.msg === 'activity summary' && (l.notificationsSent as number) >= 1)!;
      expect(summary).to.include({ level: 30, replica: REPLICA, intervalSeconds: 1, eventsMatched: 1, notificationsSent: 1, binds: 1, subscriptions: 1 });
      expect(summary.eventsReceived).to.be.at.least(1);
    });

    it('never logs the binding token or the caller’s credential', () => {
      expect(out.text).not.to.contain(token);
      expect(out.text).not.to.contain(token.slice(0, 40));
      expect(out.text).not.to.contain('user-credential-7f3a9c1e');
    });
  });

  describe('format', () => {
    it('redacts tokens and authorization headers whatever a caller passes', () => {
      const out = capture();
      createLogger('debug', { format: 'json', destination: out.stream }).debug(
        { token: 'tok-1', headers: { authorization: 'Bearer b-1' }, binding: { token: 'tok-2', credential: 'c-1' }, authorization: 'Bearer b-2' },
        'x',
      );
      expect(out.text).not.to.match(/tok-1|tok-2|b-1|b-2|c-1/);
      expect(out.lines()[0]).to.deep.include({ token: '[redacted]', headers: { authorization: '[redacted]' }, binding: { token: '[redacted]', credential: '[redacted]' } });
    });

    it('writes JSON lines when the output is not a terminal, human-readable lines when it is', async () => {
      const json = capture();
      createLogger('info', { destination: json.stream, isTTY: false }).info({ subscription: 's1' }, 'subscription bound');
      expect(json.lines()[0]).to.include({ msg: 'subscription bound', subscription: 's1', level: 30 });
      const pretty = capture();
      createLogger('info', { destination: pretty.stream, isTTY: true }).info({ subscription: 's1' }, 'subscription bound');
      await until(() => pretty.text.endsWith('\n'), 'the pretty line');
      expect(pretty.text).to.match(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: subscription bound\n {4}subscription: "s1"\n$/);
    });

    it('falls back to JSON when pino-pretty is not installed (a production install), and says so if pretty was asked for', () => {
      const auto = capture();
      createLogger('info', { destination: auto.stream, isTTY: true }, () => undefined).info('hello');
      expect(auto.lines().map((l) => l.msg)).to.deep.equal(['hello']);
      const asked = capture();
      createLogger('info', { format: 'pretty', destination: asked.stream }, () => undefined).info('hello');
      expect(asked.lines().map((l) => l.msg)).to.deep.equal(['LOG_FORMAT is pretty but pino-pretty is not installed (it is a development dependency); logging JSON', 'hello']);
    });
  });
});
