import { expect } from 'chai';
import { lookup } from 'node:dns/promises';
import { EndpointChecker, type Resolve } from '../../src/channels/resthook-endpoint.js';
import { EMPTY_ALLOW_LIST, parseAllowList } from '../../src/fhir/endpoint-rule.js';

/** The system resolver, with some test names standing in for real ones. */
function resolver(aliases: Record<string, string | string[]>): Resolve & { asked: string[] } {
  const asked: string[] = [];
  const fn = async (host: string) => {
    asked.push(host);
    const alias = aliases[host];
    if (Array.isArray(alias)) return alias;
    return (await lookup(alias ?? host, { all: true })).map((a) => a.address);
  };
  return Object.assign(fn, { asked });
}

describe('rest-hook endpoints after DNS resolution', () => {
  it('refuses a name the system resolver resolves to loopback (localhost, via DNS)', async () => {
    // `hooks.example.test` is answered by the system resolver as if it were `localhost`, so this
    // takes the DNS path rather than the loopback-name rule.
    const resolve = resolver({ 'hooks.example.test': 'localhost' });
    const verdict = await new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve }).check('https://hooks.example.test/fhir');
    expect(resolve.asked).to.deep.equal(['hooks.example.test']);
    expect(verdict.ok).to.equal(false);
    expect(!verdict.ok && verdict.reason)
      .to.match(/loopback/)
      .and.match(/hooks\.example\.test resolves to (127\.0\.0\.1|::1)/);
  });

  it('refuses localhost itself with the system resolver', async () => {
    const verdict = await new EndpointChecker({ allow: EMPTY_ALLOW_LIST }).check('https://localhost:8443/hook');
    expect(verdict.ok).to.equal(false);
    expect(!verdict.ok && verdict.reason).to.match(/loopback/);
  });

  it('refuses a name when any one of its addresses is not public (DNS rebinding with two records)', async () => {
    const checker = new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve: resolver({ 'mixed.example.test': ['93.184.215.14', '169.254.169.254'] }) });
    const verdict = await checker.check('https://mixed.example.test/');
    expect(!verdict.ok && verdict.reason).to.match(/metadata/);
  });

  it('refuses a name that resolves to a private, link-local, CGNAT or IPv4-mapped loopback address', async () => {
    const names = { 'a.example.test': ['10.0.0.7'], 'b.example.test': ['fe80::1'], 'c.example.test': ['100.64.0.9'], 'd.example.test': ['::ffff:127.0.0.1'], 'e.example.test': ['fd00::5'] };
    const checker = new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve: resolver(names) });
    const reasons = await Promise.all(
      Object.keys(names).map(async (n) => {
        const v = await checker.check(`https://${n}/`);
        return v.ok ? 'ok' : v.reason;
      }),
    );
    expect(reasons[0]).to.match(/private/);
    expect(reasons[1]).to.match(/link-local/);
    expect(reasons[2]).to.match(/carrier-grade NAT/);
    expect(reasons[3]).to.match(/loopback/);
    expect(reasons[4]).to.match(/private/);
  });

  it('accepts a name whose every address is public', async () => {
    const checker = new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve: resolver({ 'public.example.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] }) });
    expect(await checker.check('https://public.example.test/hook')).to.deep.equal({ ok: true });
  });

  it('refuses a name that does not resolve, or not in time', async () => {
    const failing: Resolve = () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }));
    const v1 = await new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve: failing }).check('https://gone.example.test/');
    expect(!v1.ok && v1.reason).to.match(/could not be resolved \(ENOTFOUND\)/);
    const hanging: Resolve = () => new Promise(() => undefined);
    const v2 = await new EndpointChecker({ allow: EMPTY_ALLOW_LIST, resolve: hanging, timeoutMs: 50 }).check('https://slow.example.test/');
    expect(!v2.ok && v2.reason).to.match(/ETIMEOUT/);
  });

  it('RESTHOOK_ALLOW: a named host is allowed (http too) without asking DNS; an allowed range admits the addresses it resolves to', async () => {
    const resolve = resolver({ 'hooks.internal.test': ['10.20.0.5'], 'other.internal.test': ['10.99.0.1'] });
    const checker = new EndpointChecker({ allow: parseAllowList(['localhost', '10.20.0.0/16']), resolve });
    expect(await checker.check('http://localhost:9000/hook')).to.deep.equal({ ok: true });
    expect(resolve.asked).to.deep.equal([]);
    expect(await checker.check('https://hooks.internal.test/x')).to.deep.equal({ ok: true });
    const other = await checker.check('https://other.internal.test/x');
    expect(!other.ok && other.reason).to.match(/private/);
  });
});
