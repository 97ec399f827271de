import { expect } from 'chai';
import { TokenRejected } from '../../src/channels/tokens.js';
import type { Gateway } from '../../src/gateway.js';
import { startAccessUpstream, USERS, type AccessUpstream } from '../support/access-upstream.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { until } from '../support/wait.js';

// Issue 8 item 2: the registry changes only when the upstream confirms the caller's own write. The
// access-checking upstream hides a Subscription from everyone but its owner (404), as Medplum does.

for (const kind of ['memory', 'redis'] as const) {
  describe(`Who may end a subscription (${kind} engine, access-checking upstream)`, function () {
    this.timeout(30_000);
    let redis: TestRedis | undefined;
    let access: AccessUpstream;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      access = await startAccessUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: access.url, FHIR_UPSTREAM_AUTHORIZATION: USERS.service, TOPICS_DIR: 'test/fixtures/topics', RESYNC_INTERVAL_MS: '3600000' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'c'.repeat(32) });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
    });
    after(async () => {
      await gateway?.close();
      await access?.close();
      await redis?.stop();
    });

    const as = (user: string) => ({ authorization: user });

    async function clinicianSubscription(): Promise<{ id: string; resource: Record<string, unknown>; token: string }> {
      const res = await fhir<Record<string, unknown> & { id: string }>('POST', `${base}/Subscription`, backportSubscription(), as(USERS.clinician));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(gateway.subscriptions.registry.get(res.body.id)).to.not.equal(undefined);
      const { token } = await gateway.tokens.issue([res.body.id]);
      return { id: res.body.id, resource: res.body, token };
    }

    async function revoked(token: string): Promise<boolean> {
      try {
        await gateway.tokens.verify(token);
        return false;
      } catch (err) {
        if (err instanceof TokenRejected) return true;
        throw err;
      }
    }

    it("a colleague's DELETE answered 404 leaves the clinician's subscription active and its tokens valid", async () => {
      const { id, token } = await clinicianSubscription();
      const res = await fhir('DELETE', `${base}/Subscription/${id}`, undefined, as(USERS.colleague));
      expect(res.status).to.equal(404);
      await new Promise((r) => setTimeout(r, 200));
      expect(gateway.subscriptions.registry.get(id), 'still in the registry').to.not.equal(undefined);
      expect(await revoked(token), 'token revoked').to.equal(false);
      // The gateway asked with its own credential before deciding.
      expect(access.requests.some((r) => r.user === USERS.service && r.method === 'GET' && r.path === `Subscription/${id}` && r.status === 200)).to.equal(true);
    });

    it("a colleague's PUT switching it off, answered 404, changes nothing", async () => {
      const { id, resource, token } = await clinicianSubscription();
      const res = await fhir('PUT', `${base}/Subscription/${id}`, { ...resource, status: 'off' }, as(USERS.colleague));
      expect(res.status).to.equal(404);
      await new Promise((r) => setTimeout(r, 200));
      expect(gateway.subscriptions.registry.get(id)?.status).to.equal('active');
      expect(await revoked(token)).to.equal(false);
    });

    it("the owner's DELETE removes it from the registry at once and revokes its tokens", async () => {
      const { id, token } = await clinicianSubscription();
      const res = await fhir('DELETE', `${base}/Subscription/${id}`, undefined, as(USERS.clinician));
      expect(res.status).to.be.within(200, 299);
      expect(gateway.subscriptions.registry.get(id)).to.equal(undefined);
      await until(() => revoked(token), 'the token is revoked');
    });

    it('a 404 to a caller does remove it when the gateway\'s own read finds it gone too', async () => {
      const { id, token } = await clinicianSubscription();
      // Deleted straight at the server, behind the gateway's back.
      expect((await fhir('DELETE', `${access.demo.url}/Subscription/${id}`)).status).to.be.within(200, 299);
      const res = await fhir('DELETE', `${base}/Subscription/${id}`, undefined, as(USERS.colleague));
      expect(res.status).to.equal(404);
      await until(() => gateway.subscriptions.registry.get(id) === undefined, 'the subscription leaves the registry');
      await until(() => revoked(token), 'the token is revoked');
    });
  });
}
