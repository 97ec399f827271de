import { expect } from 'chai';
import type { Gateway } from '../../src/gateway.js';
import { as, startAccessGateway, tokenRefused, type AccessSetup } from '../support/access-gateway.js';
import { USERS, type AccessUpstream } from '../support/access-upstream.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { until } from '../support/wait.js';

// Issue 8 item 2: the registry changes only when the upstream confirms the caller's own write. The
// access-checking upstream hides a Subscription from everyone but its owner (404), as Medplum does.

for (const kind of ['memory', 'redis'] as const) {
  describe(`Who may end a subscription (${kind} engine, access-checking upstream)`, function () {
    this.timeout(30_000);
    let setup: AccessSetup;
    let access: AccessUpstream;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      setup = await startAccessGateway(kind);
      ({ access, gateway } = setup);
      base = gateway.baseUrl;
    });
    after(() => setup?.close());

    async function clinicianSubscription(): Promise<{ id: string; resource: Record<string, unknown>; token: string }> {
      const res = await fhir<Record<string, unknown> & { id: string }>('POST', `${base}/Subscription`, backportSubscription(), as(USERS.clinician));
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(gateway.subscriptions.registry.get(res.body.id)).to.not.equal(undefined);
      const { token } = await gateway.tokens.issue([res.body.id]);
      return { id: res.body.id, resource: res.body, token };
    }

    const revoked = (token: string) => tokenRefused(gateway, token);

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

    it("a 404 to a caller does remove it when the gateway's own read finds it gone too", async () => {
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
