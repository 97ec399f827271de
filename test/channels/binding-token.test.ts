import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import jwt from 'jsonwebtoken';
import { pino } from 'pino';
import { BindingTokens, TOKEN_AUDIENCE, TokenRejected, type TokenKeys, type TokenRejectionReason } from '../../src/channels/tokens.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import type { Gateway } from '../../src/gateway.js';
import { backportSubscription, fhir } from '../support/fhir.js';
import { startTestGateway } from '../support/gateway.js';
import { startHttpServer } from '../support/http-server.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startUpstream, type DemoUpstream } from '../support/upstream.js';
import { until } from '../support/wait.js';

const logger = pino({ level: 'silent' });
const SECRET = 's'.repeat(32);
const ISSUER = 'https://gateway.example/fhir';
const TOPICS_DIR = 'test/fixtures/topics';

interface Parameter {
  name: string;
  valueString?: string;
  valueDateTime?: string;
  valueUrl?: string;
}
interface ParametersResource {
  resourceType: string;
  parameter?: Parameter[];
}
interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics?: string }>;
}

async function rejection(p: Promise<unknown>): Promise<TokenRejectionReason> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(TokenRejected);
    return (err as TokenRejected).reason;
  }
  throw new Error('expected the token to be rejected');
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

/** A token with one part replaced by another token's (the signature no longer fits). */
function spliced(token: string, part: 0 | 1 | 2, from: string): string {
  const parts = token.split('.');
  parts[part] = from.split('.')[part]!;
  return parts.join('.');
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`BindingTokens (${kind} engine)`, () => {
    let redis: TestRedis | undefined;
    let prefix: string;
    let engine: Engine;
    const engines: Engine[] = [];

    /** Another replica's engine: a second Redis connection, or (memory) the one process's engine. */
    const peer = async (): Promise<Engine> => (kind === 'memory' ? engine : newEngine());
    const newEngine = async (): Promise<Engine> => {
      const e = kind === 'memory' ? createEngine({ memory: { keyPrefix: prefix } }, logger) : createEngine({ redis: { url: redis!.url, keyPrefix: prefix } }, logger);
      await e.start();
      engines.push(e);
      return e;
    };
    const tokens = (opts: { engine?: Engine; keys?: TokenKeys; lifetimeSeconds?: number; issuer?: string } = {}) =>
      new BindingTokens({
        engine: opts.engine ?? engine,
        keys: opts.keys ?? { algorithm: 'HS256', secret: SECRET },
        lifetimeSeconds: opts.lifetimeSeconds ?? 60,
        issuer: opts.issuer ?? ISSUER,
        logger,
      });

    before(async () => {
      if (kind === 'redis') redis = await startRedis();
      prefix = redis?.newPrefix() ?? 'test:';
      engine = await newEngine();
    });
    after(async () => {
      for (const e of engines) await e.close();
      await redis?.stop();
    });

    it('issues a JWT naming the subscriptions that verifies to the same claims', async () => {
      const t = tokens();
      const before = Date.now();
      const { token, claims } = await t.issue(['a', 'b', 'a']);
      expect(claims.subscriptions).to.deep.equal(['a', 'b']);
      expect(claims.expiresAt.getTime()).to.be.within(before + 59_000, before + 60_000);
      const decoded = jwt.decode(token, { complete: true })!;
      expect(decoded.header.alg).to.equal('HS256');
      expect(decoded.payload).to.include({ jti: claims.jti, iss: ISSUER, aud: TOKEN_AUDIENCE, exp: claims.expiresAt.getTime() / 1000 });
      expect((decoded.payload as { subscriptions: string[] }).subscriptions).to.deep.equal(['a', 'b']);
      expect(await t.verify(token)).to.deep.equal(claims);
    });

    it('refuses to issue a token for no subscription', async () => {
      let error: unknown;
      await tokens()
        .issue([])
        .catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(RangeError);
    });

    it('rejects an expired token as expired', async () => {
      const t = tokens({ lifetimeSeconds: 1 });
      const { token, claims } = await t.issue(['a']);
      await new Promise((r) => setTimeout(r, Math.max(0, claims.expiresAt.getTime() - Date.now()) + 50));
      expect(await rejection(t.verify(token))).to.equal('expired');
    });

    it('rejects a token whose signature does not fit as bad-signature', async () => {
      const t = tokens();
      const { token } = await t.issue(['a']);
      const other = (await t.issue(['b'])).token;
      expect(await rejection(t.verify(spliced(token, 1, other)))).to.equal('bad-signature');
      expect(await rejection(t.verify(spliced(token, 2, other)))).to.equal('bad-signature');
      const foreign = (await tokens({ keys: { algorithm: 'HS256', secret: 'f'.repeat(32) } }).issue(['a'])).token;
      expect(await rejection(t.verify(foreign))).to.equal('bad-signature');
    });

    it('rejects an unsigned (alg none) token and one with another algorithm as bad-signature', async () => {
      const t = tokens();
      const { claims } = await t.issue(['a']);
      const payload = { subscriptions: ['a'], jti: claims.jti, iss: ISSUER, aud: TOKEN_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 };
      const none = jwt.sign(payload, '', { algorithm: 'none' });
      expect(await rejection(t.verify(none))).to.equal('bad-signature');
      const hs512 = jwt.sign(payload, SECRET, { algorithm: 'HS512' });
      expect(await rejection(t.verify(hs512))).to.equal('bad-signature');
    });

    it('rejects something that is not a JWT as malformed', async () => {
      expect(await rejection(tokens().verify('not-a-token'))).to.equal('malformed');
      expect(await rejection(tokens().verify(''))).to.equal('malformed');
      const noSubscriptions = jwt.sign({ jti: 'x', iss: ISSUER, aud: TOKEN_AUDIENCE }, SECRET, { algorithm: 'HS256', expiresIn: 60 });
      expect(await rejection(tokens().verify(noSubscriptions))).to.equal('malformed');
    });

    it('rejects a token for another issuer or audience as unknown', async () => {
      const { token } = await tokens({ issuer: 'https://elsewhere.example/fhir' }).issue(['a']);
      expect(await rejection(tokens().verify(token))).to.equal('unknown');
      const otherAudience = jwt.sign({ subscriptions: ['a'] }, SECRET, { algorithm: 'HS256', expiresIn: 60, jwtid: 'j', issuer: ISSUER, audience: 'something-else' });
      expect(await rejection(tokens().verify(otherAudience))).to.equal('unknown');
    });

    it('rejects a revoked token as revoked, and a well-signed token it never issued the same way', async () => {
      const t = tokens();
      const { token, claims } = await t.issue(['a']);
      await t.revoke(claims.jti);
      expect(await rejection(t.verify(token))).to.equal('revoked');
      await t.revoke(claims.jti);
      const forged = jwt.sign({ subscriptions: ['a'] }, SECRET, { algorithm: 'HS256', expiresIn: 60, jwtid: 'never-issued', issuer: ISSUER, audience: TOKEN_AUDIENCE });
      expect(await rejection(t.verify(forged))).to.equal('revoked');
    });

    it('rejects a token re-signed with the real key that names another subscription or a later expiry than issued, as not-issued', async () => {
      const t = tokens();
      const { token, claims } = await t.issue(['mine']);
      const issued = jwt.decode(token) as { subscriptions: string[]; exp: number; jti: string };
      const resign = (changes: Partial<typeof issued>) => jwt.sign({ ...issued, ...changes }, SECRET, { algorithm: 'HS256' });
      expect(await rejection(t.verify(resign({ subscriptions: ['someone-elses'] })))).to.equal('not-issued');
      expect(await rejection(t.verify(resign({ subscriptions: ['mine', 'someone-elses'] })))).to.equal('not-issued');
      expect(await rejection(t.verify(resign({ exp: issued.exp + 3600 })))).to.equal('not-issued');
      // The same claims re-signed are what was issued; the original still binds.
      expect(await t.verify(resign({}))).to.deep.equal(claims);
      expect(await t.verify(token)).to.deep.equal(claims);
      // Revoking a token whose record names its subscriptions removes it from their index too.
      await t.revoke(claims.jti);
      expect(await rejection(t.verify(token))).to.equal('revoked');
    });

    it('revokeSubscription revokes every token naming the subscription, and only those', async () => {
      const t = tokens();
      const onlyA = await t.issue(['sub-a']);
      const both = await t.issue(['sub-a', 'sub-b']);
      const onlyB = await t.issue(['sub-b']);
      await t.revokeSubscription('sub-a');
      expect(await rejection(t.verify(onlyA.token))).to.equal('revoked');
      expect(await rejection(t.verify(both.token))).to.equal('revoked');
      expect((await t.verify(onlyB.token)).subscriptions).to.deep.equal(['sub-b']);
      await t.revokeSubscription('sub-a');
      await t.revokeSubscription('never-had-tokens');
      const again = await t.issue(['sub-a']);
      expect((await t.verify(again.token)).subscriptions).to.deep.equal(['sub-a']);
    });

    it('another replica sharing the engine and key verifies the token and sees its revocations', async () => {
      const one = tokens();
      const two = tokens({ engine: await peer() });
      const { token, claims } = await one.issue(['replica-sub']);
      expect(await two.verify(token)).to.deep.equal(claims);
      await two.revokeSubscription('replica-sub');
      expect(await rejection(one.verify(token))).to.equal('revoked');
      const second = await two.issue(['replica-sub-2']);
      await one.revoke(second.claims.jti);
      expect(await rejection(two.verify(second.token))).to.equal('revoked');
    });

    for (const [algorithm, pair] of [
      ['RS256', rsa],
      ['ES256', ec],
    ] as const) {
      it(`issues and verifies ${algorithm} tokens with a key pair`, async () => {
        const keys: TokenKeys = { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
        const t = tokens({ keys });
        const { token, claims } = await t.issue(['a']);
        expect(jwt.decode(token, { complete: true })!.header.alg).to.equal(algorithm);
        expect(await tokens({ keys, engine: await peer() }).verify(token)).to.deep.equal(claims);
        const other = (await t.issue(['b'])).token;
        expect(await rejection(t.verify(spliced(token, 1, other)))).to.equal('bad-signature');
        // The classic confusion: an HS256 token whose secret is the (public) verification key.
        const confused = jwt.sign({ subscriptions: ['a'] }, SECRET + pair.publicKey, { algorithm: 'HS256', expiresIn: 60, jwtid: claims.jti, issuer: ISSUER, audience: TOKEN_AUDIENCE });
        expect(await rejection(t.verify(confused))).to.equal('bad-signature');
        const hs = (await tokens().issue(['a'])).token;
        expect(await rejection(t.verify(hs))).to.equal('bad-signature');
      });
    }

    it('refuses keys that do not make a pair at construction', () => {
      expect(() => tokens({ keys: { algorithm: 'ES256', privateKey: ec.privateKey, publicKey: rsa.publicKey } })).to.throw();
      expect(() => tokens({ keys: { algorithm: 'HS256', secret: 'short' } })).to.throw(RangeError);
    });
  });
}

const param = (body: ParametersResource, name: string) => body.parameter?.filter((p) => p.name === name) ?? [];

for (const kind of ['memory', 'redis'] as const) {
  describe(`$get-ws-binding-token (${kind} engine, demo upstream)`, () => {
    let redis: TestRedis | undefined;
    let upstream: DemoUpstream;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      upstream = await startUpstream();
      const env: Record<string, string> = { FHIR_UPSTREAM_URL: upstream.url, TOPICS_DIR, RESYNC_INTERVAL_MS: '1000' };
      if (kind === 'redis') {
        redis = await startRedis();
        Object.assign(env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.newPrefix(), TOKEN_SECRET: 'x'.repeat(32) });
      }
      gateway = await startTestGateway(env);
      base = gateway.baseUrl;
    });
    after(async () => {
      await gateway.close();
      await upstream.close();
      await redis?.stop();
    });

    const create = async (overrides: Parameters<typeof backportSubscription>[0] = {}): Promise<string> => {
      const res = await fhir<{ id: string }>('POST', `${base}/Subscription`, backportSubscription(overrides));
      expect(res.status).to.equal(201);
      return res.body.id;
    };

    async function expectToken(res: { status: number; headers: Record<string, unknown>; body: ParametersResource }, ids: string[]): Promise<string> {
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.body.resourceType).to.equal('Parameters');
      const [token] = param(res.body, 'token');
      const [expiration] = param(res.body, 'expiration');
      const [url] = param(res.body, 'websocket-url');
      expect(token?.valueString).to.be.a('string');
      expect(expiration?.valueDateTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      expect(new Date(expiration!.valueDateTime!).getTime()).to.be.within(Date.now() + 3_590_000, Date.now() + 3_600_000);
      expect(url?.valueUrl).to.equal(`ws://localhost:${gateway.port}/ws`);
      expect(
        param(res.body, 'subscription')
          .map((p) => p.valueString)
          .sort(),
      ).to.deep.equal([...ids].sort());
      const claims = await gateway.tokens.verify(token!.valueString!);
      expect([...claims.subscriptions].sort()).to.deep.equal([...ids].sort());
      expect(claims.expiresAt.toISOString()).to.equal(new Date(expiration!.valueDateTime!).toISOString());
      return token!.valueString!;
    }

    it('instance level, GET: a token for that subscription', async () => {
      const id = await create();
      await expectToken(await fhir<ParametersResource>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`), [id]);
    });

    it('instance level, POST: id parameters are ignored', async () => {
      const id = await create();
      const other = await create();
      const body = { resourceType: 'Parameters', parameter: [{ name: 'id', valueId: other }] };
      await expectToken(await fhir<ParametersResource>('POST', `${base}/Subscription/${id}/$get-ws-binding-token`, body), [id]);
      await expectToken(await fhir<ParametersResource>('POST', `${base}/Subscription/${id}/$get-ws-binding-token`), [id]);
    });

    it('type level with ids, GET and POST: one token for all of them', async () => {
      const a = await create();
      const b = await create();
      await expectToken(await fhir<ParametersResource>('GET', `${base}/Subscription/$get-ws-binding-token?id=${a}&id=${b}`), [a, b]);
      await expectToken(await fhir<ParametersResource>('GET', `${base}/Subscription/$get-ws-binding-token?id=${a},${b}`), [a, b]);
      const body = {
        resourceType: 'Parameters',
        parameter: [
          { name: 'id', valueId: a },
          { name: 'id', valueString: b },
        ],
      };
      await expectToken(await fhir<ParametersResource>('POST', `${base}/Subscription/$get-ws-binding-token`, body), [a, b]);
    });

    it('type level without ids: every active websocket subscription the caller can read, and no other', async () => {
      const active = await create();
      const off = await create({ status: 'off' });
      // A rest-hook subscription written straight to the upstream: readable, but not one the gateway serves.
      const restHook = await fhir<{ id: string }>('POST', `${upstream.url}/Subscription`, {
        ...backportSubscription({ channelType: 'rest-hook' }),
        status: 'active',
        channel: { type: 'rest-hook', endpoint: 'https://example.org/hook', payload: 'application/fhir+json' },
      });
      expect(restHook.status).to.equal(201);
      const res = await fhir<ParametersResource>('GET', `${base}/Subscription/$get-ws-binding-token`);
      const expected = [...gateway.subscriptions.registry.all()].map((s) => s.id);
      expect(expected).to.include(active);
      await expectToken(res, expected);
      const named = param(res.body, 'subscription').map((p) => p.valueString);
      expect(named).not.to.include(off);
      expect(named).not.to.include(restHook.body.id);
    });

    it('an unknown id: 404 OperationOutcome at both levels', async () => {
      const instance = await fhir<OperationOutcome>('GET', `${base}/Subscription/does-not-exist/$get-ws-binding-token`);
      expect(instance.status).to.equal(404);
      expect(instance.body.resourceType).to.equal('OperationOutcome');
      const id = await create();
      const type = await fhir<OperationOutcome>('GET', `${base}/Subscription/$get-ws-binding-token?id=${id}&id=does-not-exist`);
      expect(type.status).to.equal(404);
      expect(type.body.issue[0]!.code).to.equal('not-found');
      expect(type.body.issue[0]!.diagnostics).to.include('Subscription/does-not-exist').and.not.include(`Subscription/${id}`);
    });

    it('an invalid id: 400', async () => {
      const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/$get-ws-binding-token?id=${encodeURIComponent('a b')}`);
      expect(res.status).to.equal(400);
      expect(res.body.issue[0]!.code).to.equal('invalid');
    });

    it('an off subscription: 422 "is not active" at both levels', async () => {
      const off = await create({ status: 'off' });
      const instance = await fhir<OperationOutcome>('GET', `${base}/Subscription/${off}/$get-ws-binding-token`);
      expect(instance.status).to.equal(422);
      expect(instance.body.issue[0]!.diagnostics).to.include(`Subscription/${off} is not active`);
      const active = await create();
      const type = await fhir<OperationOutcome>('POST', `${base}/Subscription/$get-ws-binding-token`, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'id', valueId: active },
          { name: 'id', valueId: off },
        ],
      });
      expect(type.status).to.equal(422);
      expect(type.body.issue[0]!.diagnostics).to.include(`Subscription/${off} is not active`);
    });

    it('a body that is not Parameters: 400', async () => {
      const res = await fhir<OperationOutcome>('POST', `${base}/Subscription/$get-ws-binding-token`, { resourceType: 'Patient' });
      expect(res.status).to.equal(400);
    });

    it('deleting the subscription revokes its tokens', async () => {
      const id = await create();
      const token = await expectToken(await fhir<ParametersResource>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`), [id]);
      expect((await fhir('DELETE', `${base}/Subscription/${id}`)).status).to.be.within(200, 204);
      await until(
        async () =>
          (await gateway.tokens.verify(token).then(
            () => 'ok',
            (err: TokenRejected) => err.reason,
          )) === 'revoked',
        'the token to be revoked',
      );
    });

    it('turning the subscription off revokes its tokens', async () => {
      const id = await create();
      const token = await expectToken(await fhir<ParametersResource>('GET', `${base}/Subscription/${id}/$get-ws-binding-token`), [id]);
      const off = await fhir('PUT', `${base}/Subscription/${id}`, { ...backportSubscription({ status: 'off' }), id });
      expect(off.status).to.equal(200);
      await until(
        async () =>
          (await gateway.tokens.verify(token).then(
            () => 'ok',
            (err: TokenRejected) => err.reason,
          )) === 'revoked',
        'the token to be revoked',
      );
    });
  });
}

describe("$get-ws-binding-token asks the upstream with the caller's credentials", () => {
  let upstream: Awaited<ReturnType<typeof startHttpServer>>;
  let gateway: Gateway;
  let base: string;
  const seen: Array<{ path: string; authorization: string | undefined }> = [];

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
    res.end(JSON.stringify(body));
  };
  const bundle = (resources: unknown[]) => ({ resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })) });
  const denied = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'who are you?' }] };
  const stored = { resourceType: 'Subscription', id: 'guarded', status: 'active', reason: 'r', criteria: 'http://example.org/fhir/SubscriptionTopic/admission', channel: { type: 'websocket' } };

  // Only "Bearer user" may read Subscription/guarded; the gateway's own identity sees no Subscriptions.
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://upstream');
    const authorization = req.headers.authorization;
    if (url.pathname.startsWith('/Subscription')) seen.push({ path: url.pathname + url.search, authorization });
    if (url.pathname === '/metadata') return send(res, 200, { resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', status: 'active', kind: 'instance', format: ['json'] });
    if (url.pathname === '/Subscription/plain') {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
      return res.end('Unauthorized');
    }
    if (url.pathname === '/Subscription/guarded') {
      if (authorization === 'Bearer user') return send(res, 200, stored);
      return send(res, 401, denied, { 'www-authenticate': 'Bearer realm="fhir"' });
    }
    if (url.pathname === '/Subscription') {
      if (authorization === 'Bearer service') return send(res, 200, bundle([]));
      if (authorization === 'Bearer user') return send(res, 200, bundle([stored]));
      return send(res, 401, denied, { 'www-authenticate': 'Bearer realm="fhir"' });
    }
    return send(res, 200, bundle([]));
  };

  before(async () => {
    upstream = await startHttpServer(handler);
    gateway = await startTestGateway({ FHIR_UPSTREAM_URL: upstream.url, FHIR_VERSION: 'R4', TOPICS_DIR, FHIR_UPSTREAM_AUTHORIZATION: 'Bearer service' });
    base = gateway.baseUrl;
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it("without credentials the upstream's 401 is relayed", async () => {
    const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/guarded/$get-ws-binding-token`);
    expect(res.status).to.equal(401);
    expect(res.body.issue[0]!.diagnostics).to.equal('who are you?');
    expect(res.headers['www-authenticate']).to.equal('Bearer realm="fhir"');
    expect(seen).to.deep.equal([{ path: '/Subscription/guarded', authorization: undefined }]);
  });

  it("with the caller's credentials the read succeeds, and the gateway goes on to its own checks", async () => {
    const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/guarded/$get-ws-binding-token`, undefined, { authorization: 'Bearer user' });
    // Readable, but not active in this gateway's registry (the gateway's own identity could not list it).
    expect(res.status).to.equal(422);
    expect(res.body.issue[0]!.diagnostics).to.include('Subscription/guarded is not active');
    expect(seen).to.deep.equal([{ path: '/Subscription/guarded', authorization: 'Bearer user' }]);
  });

  it("type level searches with the caller's credentials", async () => {
    const anonymous = await fhir<OperationOutcome>('GET', `${base}/Subscription/$get-ws-binding-token?id=guarded`);
    expect(anonymous.status).to.equal(401);
    const user = await fhir<OperationOutcome>('GET', `${base}/Subscription/$get-ws-binding-token?id=guarded`, undefined, { authorization: 'Bearer user' });
    expect(user.status).to.equal(422);
    const all = await fhir<OperationOutcome>('GET', `${base}/Subscription/$get-ws-binding-token`, undefined, { authorization: 'Bearer user' });
    expect(all.status).to.equal(404);
    expect(all.body.issue[0]!.diagnostics).to.equal('no active websocket subscriptions for the caller');
    expect(seen.map((s) => s.authorization)).to.deep.equal([undefined, 'Bearer user', 'Bearer user']);
    expect(seen[0]!.path).to.match(/^\/Subscription\?_id=guarded/);
  });

  it('an upstream refusal that is not JSON becomes an OperationOutcome with the same status', async () => {
    const res = await fhir<OperationOutcome>('GET', `${base}/Subscription/plain/$get-ws-binding-token`);
    expect(res.status).to.equal(401);
    expect(res.headers['content-type']).to.match(/^application\/fhir\+json/);
    expect(res.body.resourceType).to.equal('OperationOutcome');
    expect(res.body.issue[0]!.code).to.equal('login');
  });
});
