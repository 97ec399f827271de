import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import type { Gateway } from '../../src/gateway.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';

export const ARTIFACTS = 'test-artifacts';

/** Text of every timeline entry of a kind, newest first. */
const entries = (page: Page, kind: string) => page.$$eval(`#timeline li[data-kind="${kind}"]`, (els) => els.map((e) => e.textContent ?? ''));

describe('console in a real browser (chromium + puppeteer-core)', function () {
  this.timeout(90_000);
  let upstream: DemoUpstream;
  let gateway: Gateway;
  let chromium: TestBrowser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, CONSOLE_ENABLED: 'true' });
    chromium = await launchBrowser();
    page = await chromium.browser.newPage();
    // A CSP violation, a failed module or a script error shows up here; the console must have none.
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => void problems.push(String(e)));
    await page.goto(`${new URL(gateway.baseUrl).origin}/console/`, { waitUntil: 'load' });
  });
  after(async () => {
    await chromium?.close();
    await gateway?.close();
    await upstream?.close();
  });

  it('lists the topics with their triggers and allowed filters', async () => {
    await page.waitForSelector('article.topic');
    const text = await page.$eval('section.topics', (e) => e.textContent ?? '');
    expect(text).to.contain('Encounter admission').and.contain('Encounter discharge').and.contain('Patient record change');
    expect(text).to.contain('status=in-progress');
    expect(text).to.contain('Encounter?service-provider');
  });

  it('checks filters against canFilterBy as they are typed', async () => {
    const [admission] = await page.$$('article.topic');
    await admission!.click();
    await page.type('input[name="filter-0"]', 'ward=3');
    await page.waitForSelector('.filter .invalid');
    expect(await page.$eval('.filter .invalid', (e) => e.textContent)).to.match(/ward is not a filter of this topic \(allowed: patient, location, service-provider\)/);
    expect(await page.$eval('#create', (e) => (e as unknown as { disabled: boolean }).disabled)).to.equal(true);
    await page.$eval('input[name="filter-0"]', (e) => void ((e as unknown as { value: string }).value = ''));
    await page.type('input[name="filter-0"]', 'patient:not=Patient/1');
    await page.waitForFunction(`/:not is not allowed/.test(document.querySelector('.filter .invalid')?.textContent ?? '')`);
    await page.$eval('input[name="filter-0"]', (e) => void ((e as unknown as { value: string }).value = ''));
    await page.type('input[name="filter-0"]', 'patient=Patient/console-1');
    await page.waitForSelector('.filter .valid');
    expect(await page.$eval('#create', (e) => (e as unknown as { disabled: boolean }).disabled)).to.equal(false);
  });

  it('creates the subscription and shows its $status', async () => {
    await page.click('#create');
    await page.waitForSelector('#status');
    expect(await page.$eval('#status', (e) => e.textContent))
      .to.contain('active')
      .and.contain('encounter-admission');
    const stored = await fhir<{ entry?: Array<{ resource: { criteria: string; status: string } }> }>('GET', `${gateway.baseUrl}/Subscription`);
    expect(stored.body.entry!.map((e) => e.resource.criteria)).to.deep.equal(['http://fhir-subscription-gateway.dev/SubscriptionTopic/encounter-admission']);
  });

  it('binds, and shows the handshake, then the notification a test write causes, as the exact bundle', async () => {
    await page.click('#bind');
    await page.waitForSelector('#timeline li[data-kind="handshake"]');
    await page.click('#write');
    await page.waitForSelector('#timeline li[data-kind="event-notification"]', { timeout: 15_000 });
    const [event] = await entries(page, 'event-notification');
    expect(event).to.contain('#1').and.contain('Encounter/');
    await page.click('#timeline li[data-kind="event-notification"] button.summary');
    const bundle = JSON.parse(await page.$eval('#timeline li[data-kind="event-notification"] pre', (e) => e.textContent ?? '')) as {
      type: string;
      entry: Array<{ resource: { resourceType: string; subject?: { reference: string } } }>;
    };
    expect(bundle.type).to.equal('history');
    expect(bundle.entry[0]!.resource.resourceType).to.equal('Parameters');
    expect(bundle.entry[1]!.resource.resourceType).to.equal('Encounter');
    expect(bundle.entry[1]!.resource.subject?.reference).to.equal('Patient/console-1');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/console.png`, fullPage: false });
  });

  it('replays from an event number on a fresh socket', async () => {
    await page.click('#write');
    await page.waitForFunction(`document.querySelectorAll('#timeline li[data-kind="event-notification"]').length === 2`, { timeout: 15_000 }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; timeline: ${JSON.stringify(await page.$eval('#timeline', (e) => e.textContent))}; note: ${await page.$eval('section.live', (e) => e.textContent)}`);
    });
    await page.type('input[name="since"]', '1');
    await page.click('xpath/.//button[text()="Replay"]');
    await page.waitForFunction(`document.querySelectorAll('#timeline li[data-kind="event-notification"]').length >= 4`, { timeout: 15_000 }).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; timeline: ${JSON.stringify(await page.$eval('#timeline', (e) => e.textContent))}; note: ${await page.$eval('section.live', (e) => e.textContent)}`);
    });
    const events = await entries(page, 'event-notification');
    // Newest first: the replay's #1 and #2 (one bundle each, or one of both) after the live #1 and #2.
    expect(events.slice(-2).map((t) => /#(\d+)/.exec(t)![1])).to.deep.equal(['2', '1']);
    expect(events.slice(0, -2).join(' ')).to.match(/#2|#1–2/);
    expect(await entries(page, 'gap')).to.deep.equal([]);
  });

  it('shows a gap as a gap, with a replay from its first missing number', async () => {
    // Frames as the gateway sends them, fed to the page's own channel: events 1 then 4, then a heartbeat saying 6.
    // A string, not a function: the test's compiled functions carry helpers the page does not have.
    const kinds = (await page.evaluate(`(async () => {
      const { LiveChannel } = await import('/console/live.js');
      const frame = (type, total, numbers) => JSON.stringify({
        resourceType: 'Bundle',
        type: 'history',
        entry: [{ resource: { resourceType: 'SubscriptionStatus', type, eventsSinceSubscriptionStart: String(total), notificationEvent: numbers.map((n) => ({ eventNumber: String(n) })) } }],
      });
      const channel = new LiveChannel(() => undefined);
      channel.receive(frame('handshake', 0, []));
      channel.receive(frame('event-notification', 1, [1]));
      channel.receive(frame('event-notification', 4, [4]));
      channel.receive(frame('heartbeat', 6, []));
      return channel.entries.map((e) => e.kind + (e.summary ? ': ' + e.summary : '')).reverse();
    })()`)) as string[];
    expect(kinds).to.deep.equal(['handshake', 'event-notification', 'gap: events 2–3 were not received', 'event-notification', 'gap: events 5–6 were not received', 'heartbeat']);
  });

  it('writes a test resource that the subscription’s filters can match', async () => {
    const plans = (await page.evaluate(`(async () => {
      const { planTestWrite } = await import('/console/examples.js');
      const recordChange = {
        triggers: [{ resource: 'Patient', interactions: [] }, { resource: 'Encounter', interactions: [] }],
        filters: [{ resource: 'Patient', parameter: '_id', modifiers: [], comparators: [] }, { resource: 'Encounter', parameter: 'patient', modifiers: [], comparators: [] }],
      };
      const discharge = { triggers: [{ resource: 'Encounter', interactions: ['create', 'update'], fhirPath: "%current.status = 'finished'" }], filters: [] };
      const summary = (plan) => plan.steps.map((s) => s.method + ' ' + s.path + (s.body.status ? ' ' + s.body.status : '') + (s.body.subject ? ' ' + s.body.subject.reference : ''));
      return [
        summary(planTestWrite('R4', recordChange, [{ parameter: 'patient', value: 'Patient/9', text: 'patient=Patient/9' }])),
        summary(planTestWrite('R4', recordChange, [{ resourceType: 'Patient', parameter: '_id', value: 'p1', text: '_id=p1' }])),
        summary(planTestWrite('R4', discharge, [])),
        summary(planTestWrite('R5', discharge, [])),
      ];
    })()`)) as string[][];
    expect(plans).to.deep.equal([
      ['POST Encounter in-progress Patient/9'],
      ['PUT Patient/p1'],
      ['POST Patient', 'POST Encounter finished {patient}'],
      ['POST Patient', 'POST Encounter completed {patient}'],
    ]);
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(problems).to.deep.equal([]);
  });
});

for (const fhirVersion of ['R4B', 'R5'] as const) {
  describe(`console in a real browser against an ${fhirVersion} server`, function () {
    this.timeout(90_000);
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let chromium: TestBrowser;
    let page: Page;

    before(async () => {
      upstream = await startUpstream({ fhirVersion });
      gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, CONSOLE_ENABLED: 'true' });
      chromium = await launchBrowser();
      page = await chromium.browser.newPage();
      await page.goto(`${new URL(gateway.baseUrl).origin}/console/`, { waitUntil: 'load' });
    });
    after(async () => {
      await chromium?.close();
      await gateway?.close();
      await upstream?.close();
    });

    it(`creates a subscription in the ${fhirVersion} shape and shows the notification of a test write`, async () => {
      await page.waitForSelector('article.topic');
      await page.click('article.topic');
      await page.type('input[name="filter-0"]', 'patient=Patient/console-2');
      await page.waitForSelector('.filter .valid');
      await page.click('#create');
      await page.waitForSelector('#status');
      const stored = await fhir<{ entry?: Array<{ resource: Record<string, unknown> }> }>('GET', `${gateway.baseUrl}/Subscription`);
      const sub = stored.body.entry![0]!.resource;
      if (fhirVersion === 'R5') expect(sub.filterBy).to.deep.equal([{ resourceType: 'Encounter', filterParameter: 'patient', value: 'Patient/console-2' }]);
      else expect(sub.criteria).to.equal('http://fhir-subscription-gateway.dev/SubscriptionTopic/encounter-admission');
      await page.click('#bind');
      await page.waitForSelector('#timeline li[data-kind="handshake"]');
      await page.click('#write');
      await page.waitForSelector('#timeline li[data-kind="event-notification"]', { timeout: 15_000 });
      await page.click('#timeline li[data-kind="event-notification"] button.summary');
      const bundle = JSON.parse(await page.$eval('#timeline li[data-kind="event-notification"] pre', (e) => e.textContent ?? '')) as {
        type: string;
        entry: Array<{ resource: { resourceType: string } }>;
      };
      expect(bundle.type).to.equal(fhirVersion === 'R5' ? 'subscription-notification' : 'history');
      expect(bundle.entry.map((e) => e.resource.resourceType)).to.deep.equal(['SubscriptionStatus', 'Encounter']);
      expect(await page.$eval('#timeline li[data-kind="event-notification"]', (e) => e.textContent)).to.contain('#1');
    });
  });
}
