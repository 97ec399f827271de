import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';

const SECRET = 'x'.repeat(32);

function file(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'fsg-config-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function error(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.to.include('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ CONFIG_FILE: file({}) });
    expect(c.port).to.equal(8080);
    expect(c.fhirBasePath).to.equal('/fhir');
    // Unset: fhir:resource-changes with the default key prefix, under the prefix otherwise (gateway.ts).
    expect(c.eventsChannel).to.equal(undefined);
    expect(c.fhirUpstreamUrl).to.equal(undefined);
    expect(c.publicBaseUrl).to.equal(undefined);
    expect(c.redis).to.equal(undefined);
    expect(c.deliveryAuthorization, 'resources only to who may read them').to.equal('upstream');
    expect(loadConfig({ CONFIG_FILE: file({ deliveryAuthorization: 'none' }) }).deliveryAuthorization).to.equal('none');
    expect(loadConfig({ CONFIG_FILE: file({}), DELIVERY_AUTHORIZATION: 'none' }).deliveryAuthorization).to.equal('none');
  });

  it('reads the durable input, catch-up and Redis timeout settings, with their defaults and bounds', () => {
    const d = loadConfig({ CONFIG_FILE: file({}) });
    expect([d.eventsStream, d.eventsStreamGroup, d.eventsStreamMaxLen, d.eventsStreamMaxAgeMs, d.eventsStreamReclaimMs, d.catchupIntervalMs, d.redisCommandTimeoutMs]).to.deep.equal([
      undefined,
      undefined,
      100_000,
      86_400_000,
      30_000,
      60_000,
      800,
    ]);
    const c = loadConfig({
      CONFIG_FILE: file({ eventsStreamMaxLen: 5000 }),
      EVENTS_STREAM: 'in',
      EVENTS_STREAM_GROUP: 'g',
      EVENTS_STREAM_RECLAIM_MS: '2000',
      CATCHUP_INTERVAL_MS: '0',
      REDIS_COMMAND_TIMEOUT_MS: '300',
    });
    expect([c.eventsStream, c.eventsStreamGroup, c.eventsStreamMaxLen, c.eventsStreamReclaimMs, c.catchupIntervalMs, c.redisCommandTimeoutMs]).to.deep.equal(['in', 'g', 5000, 2000, 0, 300]);
    expect(error({ CONFIG_FILE: file({}), CATCHUP_INTERVAL_MS: '10' })).to.match(/^CATCHUP_INTERVAL_MS must be 0 \(off\) or from 1000/);
    expect(error({ CONFIG_FILE: file({}), EVENTS_STREAM_RECLAIM_MS: '10' })).to.match(/^EVENTS_STREAM_RECLAIM_MS must be an integer from 1000/);
    expect(error({ CONFIG_FILE: file({}), EVENTS_STREAM: ' ' })).to.match(/^EVENTS_STREAM must be a non-empty string/);
  });

  it('layers defaults < file < environment', () => {
    const path = file({ port: 9000, fhirBasePath: '/fhir/R4', eventsChannel: 'from-file', fhirUpstreamUrl: 'http://hapi:8080/fhir/' });
    const c = loadConfig({ CONFIG_FILE: path, EVENTS_CHANNEL: 'from-env' });
    expect(c.port).to.equal(9000);
    expect(c.fhirBasePath).to.equal('/fhir/R4');
    expect(c.eventsChannel).to.equal('from-env');
    expect(c.fhirUpstreamUrl).to.equal('http://hapi:8080/fhir');
  });

  it('reads Redis from REDIS_URL, and Sentinel or Cluster from the file', () => {
    expect(loadConfig({ CONFIG_FILE: file({}), REDIS_URL: 'redis://r:6379/0', TOKEN_SECRET: SECRET }).redis).to.deep.equal({ keyPrefix: 'fsg:', url: 'redis://r:6379/0' });
    const sentinel = loadConfig({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { sentinel: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster' } } }) }).redis;
    expect(sentinel?.sentinel?.name).to.equal('mymaster');
    const cluster = loadConfig({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { keyPrefix: 'gw:', cluster: { nodes: [{ host: 'c1', port: 7000 }] } } }) }).redis;
    expect(cluster?.cluster?.nodes).to.deep.equal([{ host: 'c1', port: 7000 }]);
    expect(cluster?.keyPrefix).to.equal('gw:');
  });

  it('takes Sentinel and Cluster passwords from REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD over the file', () => {
    const sentinelFile = file({ tokenSecret: SECRET, redis: { sentinel: { sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'old' } } });
    const sentinel = loadConfig({ CONFIG_FILE: sentinelFile, REDIS_PASSWORD: 'master-pw', REDIS_SENTINEL_PASSWORD: 'sentinel-pw' }).redis?.sentinel;
    expect(sentinel?.password).to.equal('master-pw');
    expect(sentinel?.sentinelPassword).to.equal('sentinel-pw');
    const clusterFile = file({ tokenSecret: SECRET, redis: { cluster: { nodes: [{ host: 'c1', port: 7000 }] } } });
    expect(loadConfig({ CONFIG_FILE: clusterFile, REDIS_PASSWORD: 'cluster-pw' }).redis?.cluster?.password).to.equal('cluster-pw');
    expect(error({ CONFIG_FILE: clusterFile, REDIS_SENTINEL_PASSWORD: 'pw' })).to.match(/^REDIS_SENTINEL_PASSWORD applies only to redis.sentinel/);
    const urlError = error({ CONFIG_FILE: file({}), REDIS_URL: 'redis://r:6379', TOKEN_SECRET: SECRET, REDIS_PASSWORD: 'pw' });
    expect(urlError).to.match(/^REDIS_PASSWORD applies only to redis.sentinel or redis.cluster/);
    expect(urlError).not.to.include('pw"');
  });

  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a port that is not a number', { PORT: 'eighty' }, /^PORT must be an integer from 0 to 65535 \(got "eighty"\)$/],
    ['a port out of range', { PORT: '70000' }, /^PORT must be an integer/],
    ['an upstream URL that is not a URL', { FHIR_UPSTREAM_URL: 'hapi:8080' }, /^FHIR_UPSTREAM_URL must use http:\/\/ or https:\/\//],
    ['an upstream URL with a query', { FHIR_UPSTREAM_URL: 'http://h/fhir?x=1' }, /^FHIR_UPSTREAM_URL must not have a query/],
    ['a base path without a slash', { FHIR_BASE_PATH: 'fhir' }, /^FHIR_BASE_PATH must be a path/],
    ['the root as base path', { FHIR_BASE_PATH: '/' }, /^FHIR_BASE_PATH must not be the root path/],
    ['an unknown FHIR version', { FHIR_VERSION: 'R6' }, /^FHIR_VERSION must be one of R4, R4B, R5 \(got "R6"\)$/],
    ['a Redis URL with another scheme', { REDIS_URL: 'http://r:6379', TOKEN_SECRET: SECRET }, /^REDIS_URL must use redis:\/\/ or rediss:\/\//],
    ['Redis without a token secret', { REDIS_URL: 'redis://r:6379' }, /^TOKEN_SECRET is required when Redis is configured/],
    ['a short token secret', { TOKEN_SECRET: 'short' }, /^TOKEN_SECRET must be at least 32 characters \(got "\[redacted\]"\)$/],
    ['an unknown log level', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    ['an unknown delivery authorization', { DELIVERY_AUTHORIZATION: 'off' }, /^DELIVERY_AUTHORIZATION must be one of upstream, none \(got "off"\)$/],
    ['a body limit that is not a number', { MAX_BODY_BYTES: '5MB' }, /^MAX_BODY_BYTES must be an integer/],
    ['a config file that is missing', { CONFIG_FILE: '/nonexistent/gw.json' }, /^CONFIG_FILE cannot be read/],
  ];
  for (const [what, env, expected] of cases) {
    it(`rejects ${what} with one line naming the key`, () => {
      expect(error({ CONFIG_FILE: env.CONFIG_FILE ?? file({}), ...env })).to.match(expected);
    });
  }

  it('reads RESTHOOK_ALLOW as a comma-separated list (or resthookAllow as an array) and refuses an entry that is neither a host nor a range', () => {
    expect(loadConfig({ CONFIG_FILE: file({}) }).resthookAllow).to.deep.equal([]);
    expect(loadConfig({ CONFIG_FILE: file({}), RESTHOOK_ALLOW: ' hooks.internal, *.svc.cluster.local ,10.0.0.0/8,fd00::/8 ' }).resthookAllow).to.deep.equal([
      'hooks.internal',
      '*.svc.cluster.local',
      '10.0.0.0/8',
      'fd00::/8',
    ]);
    expect(loadConfig({ CONFIG_FILE: file({ resthookAllow: ['localhost'] }) }).resthookAllow).to.deep.equal(['localhost']);
    expect(error({ CONFIG_FILE: file({}), RESTHOOK_ALLOW: 'hooks.internal,10.0.0.0/33' })).to.match(/^RESTHOOK_ALLOW .*10\.0\.0\.0\/33/);
    expect(error({ CONFIG_FILE: file({ resthookAllow: 'http://x' }) })).to.match(/^resthookAllow /);
  });

  it('rejects a config file that is not JSON', () => {
    expect(error({ CONFIG_FILE: file('{ port: 1') })).to.match(/^CONFIG_FILE is not valid JSON/);
  });

  it('rejects an unknown key in the config file, so a typo is not silently ignored', () => {
    expect(error({ CONFIG_FILE: file({ prot: 8080 }) })).to.match(/^config file .* prot is not a known key|prot is not a known key/);
  });

  it('rejects a bad value in the config file, naming the key', () => {
    expect(error({ CONFIG_FILE: file({ port: 'x' }) })).to.match(/^port must be an integer/);
    expect(error({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { cluster: { nodes: [{ host: 'c1', port: 0 }] } } }) })).to.match(/^redis\.cluster\.nodes\[0\]\.port must be an integer/);
    expect(error({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { url: 'redis://a', cluster: { nodes: [{ host: 'c', port: 1 }] } } }) })).to.match(
      /^redis must set only one of url, sentinel, cluster/,
    );
  });
  describe('binding-token keys', () => {
    const pem = (text: string) => file(text);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const otherEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const files = (pair: { privateKey: string; publicKey: string }) => ({ TOKEN_PRIVATE_KEY_FILE: pem(pair.privateKey), TOKEN_PUBLIC_KEY_FILE: pem(pair.publicKey) });

    it('defaults to HS256, a one-hour lifetime and no secret (the gateway makes one for a lone process)', () => {
      const c = loadConfig({ CONFIG_FILE: file({}) });
      expect(c.tokenAlgorithm).to.equal('HS256');
      expect(c.tokenLifetimeSeconds).to.equal(3600);
      expect(c.tokenSecret).to.equal(undefined);
      expect(c.tokenPrivateKey).to.equal(undefined);
    });

    it('reads the lifetime from TOKEN_LIFETIME_SECONDS or tokenLifetimeSeconds', () => {
      expect(loadConfig({ CONFIG_FILE: file({ tokenLifetimeSeconds: 600 }) }).tokenLifetimeSeconds).to.equal(600);
      expect(loadConfig({ CONFIG_FILE: file({ tokenLifetimeSeconds: 600 }), TOKEN_LIFETIME_SECONDS: '120' }).tokenLifetimeSeconds).to.equal(120);
    });

    it('reads an RS256 or ES256 key pair at load, and it satisfies Redis without TOKEN_SECRET', () => {
      const r = loadConfig({ CONFIG_FILE: file({}), TOKEN_ALGORITHM: 'RS256', REDIS_URL: 'redis://r:6379', ...files(rsa) });
      expect(r.tokenAlgorithm).to.equal('RS256');
      expect(r.tokenPrivateKey).to.equal(rsa.privateKey);
      expect(r.tokenPublicKey).to.equal(rsa.publicKey);
      const e = loadConfig({ CONFIG_FILE: file({ tokenAlgorithm: 'ES256', tokenPrivateKeyFile: pem(ec.privateKey), tokenPublicKeyFile: pem(ec.publicKey) }) });
      expect(e.tokenAlgorithm).to.equal('ES256');
      expect(e.tokenPublicKey).to.equal(ec.publicKey);
    });

    const cases: Array<[string, () => Record<string, string>, RegExp]> = [
      ['an unknown algorithm', () => ({ TOKEN_ALGORITHM: 'none' }), /^TOKEN_ALGORITHM must be one of HS256, RS256, ES256 \(got "none"\)$/],
      ['a lifetime below a minute', () => ({ TOKEN_LIFETIME_SECONDS: '59' }), /^TOKEN_LIFETIME_SECONDS must be an integer from 60 to 86400/],
      ['a lifetime above a day', () => ({ TOKEN_LIFETIME_SECONDS: '86401' }), /^TOKEN_LIFETIME_SECONDS must be an integer from 60 to 86400/],
      ['RS256 without a private key file', () => ({ TOKEN_ALGORITHM: 'RS256', TOKEN_PUBLIC_KEY_FILE: pem(rsa.publicKey) }), /^TOKEN_PRIVATE_KEY_FILE is required when TOKEN_ALGORITHM is RS256$/],
      ['ES256 without a public key file', () => ({ TOKEN_ALGORITHM: 'ES256', TOKEN_PRIVATE_KEY_FILE: pem(ec.privateKey) }), /^TOKEN_PUBLIC_KEY_FILE is required when TOKEN_ALGORITHM is ES256$/],
      [
        'a key file that does not exist',
        () => ({ TOKEN_ALGORITHM: 'RS256', TOKEN_PRIVATE_KEY_FILE: '/nonexistent/key.pem', TOKEN_PUBLIC_KEY_FILE: pem(rsa.publicKey) }),
        /^TOKEN_PRIVATE_KEY_FILE cannot be read/,
      ],
      [
        'a key file that is not PEM',
        () => ({ TOKEN_ALGORITHM: 'RS256', TOKEN_PRIVATE_KEY_FILE: pem('not a key'), TOKEN_PUBLIC_KEY_FILE: pem(rsa.publicKey) }),
        /^TOKEN_PRIVATE_KEY_FILE does not hold a PEM private key/,
      ],
      [
        'a private key given as the public key',
        () => ({ TOKEN_ALGORITHM: 'RS256', TOKEN_PRIVATE_KEY_FILE: pem(rsa.privateKey), TOKEN_PUBLIC_KEY_FILE: pem(rsa.privateKey) }),
        /^TOKEN_PUBLIC_KEY_FILE does not hold a PEM public key/,
      ],
      ['an EC key for RS256', () => ({ TOKEN_ALGORITHM: 'RS256', ...files(ec) }), /^TOKEN_PRIVATE_KEY_FILE must hold an RSA key/],
      ['a P-384 key for ES256', () => ({ TOKEN_ALGORITHM: 'ES256', ...files(p384) }), /^TOKEN_PRIVATE_KEY_FILE must hold an EC P-256 key for ES256/],
      [
        'keys that are not a pair',
        () => ({ TOKEN_ALGORITHM: 'ES256', TOKEN_PRIVATE_KEY_FILE: pem(ec.privateKey), TOKEN_PUBLIC_KEY_FILE: pem(otherEc.publicKey) }),
        /^TOKEN_PUBLIC_KEY_FILE does not match TOKEN_PRIVATE_KEY_FILE/,
      ],
      ['key files with HS256', () => ({ TOKEN_SECRET: SECRET, ...files(rsa) }), /^TOKEN_ALGORITHM must be RS256 or ES256 when TOKEN_PRIVATE_KEY_FILE is set/],
      ['a secret with RS256', () => ({ TOKEN_ALGORITHM: 'RS256', TOKEN_SECRET: SECRET, ...files(rsa) }), /^TOKEN_SECRET is only used with TOKEN_ALGORITHM HS256/],
      ['Redis with HS256 and no secret', () => ({ TOKEN_ALGORITHM: 'HS256', REDIS_URL: 'redis://r:6379' }), /^TOKEN_SECRET is required when Redis is configured/],
    ];
    for (const [what, env, expected] of cases) {
      it(`rejects ${what} with one line naming the key`, () => {
        expect(error({ CONFIG_FILE: file({}), ...env() })).to.match(expected);
      });
    }

    it('names the file key when the value came from the config file', () => {
      expect(error({ CONFIG_FILE: file({ tokenAlgorithm: 'ES256', tokenPrivateKeyFile: '/nonexistent/key.pem', tokenPublicKeyFile: pem(ec.publicKey) }) })).to.match(
        /^tokenPrivateKeyFile cannot be read/,
      );
    });

    it('never puts key material in an error', () => {
      const message = error({ CONFIG_FILE: file({}), TOKEN_ALGORITHM: 'ES256', TOKEN_PRIVATE_KEY_FILE: pem(ec.privateKey), TOKEN_PUBLIC_KEY_FILE: pem(otherEc.publicKey) });
      expect(message).not.to.include('BEGIN');
    });
  });
  describe('the demo upstream', () => {
    const load = (env: Record<string, string>) => loadConfig({ CONFIG_FILE: file({}), ...env });

    it('runs exactly when FHIR_UPSTREAM_URL is unset, unless DEMO_UPSTREAM says otherwise', () => {
      expect(load({}).demoUpstream).to.equal(true);
      expect(load({ FHIR_UPSTREAM_URL: 'http://hapi:8080/fhir' }).demoUpstream).to.equal(false);
      expect(load({ DEMO_UPSTREAM: 'true' }).demoUpstream).to.equal(true);
      expect(load({ DEMO_UPSTREAM: 'false', FHIR_UPSTREAM_URL: 'http://hapi:8080/fhir' }).demoUpstream).to.equal(false);
    });

    it('DEMO_UPSTREAM=false (as in the image) makes FHIR_UPSTREAM_URL required, saying how to ask for the demo', () => {
      expect(error({ CONFIG_FILE: file({}), DEMO_UPSTREAM: 'false' })).to.equal(
        "FHIR_UPSTREAM_URL is required: set it to your FHIR server's base URL (or set DEMO_UPSTREAM=true to run the in-memory demo upstream, for development only)",
      );
    });

    it('refuses contradictions: the demo and a real upstream, a demo version without the demo, two versions', () => {
      expect(error({ CONFIG_FILE: file({}), DEMO_UPSTREAM: 'true', FHIR_UPSTREAM_URL: 'http://hapi:8080/fhir' })).to.match(/^DEMO_UPSTREAM is true but FHIR_UPSTREAM_URL is set/);
      expect(error({ CONFIG_FILE: file({}), DEMO_FHIR_VERSION: 'R5', FHIR_UPSTREAM_URL: 'http://hapi:8080/fhir' })).to.match(/^DEMO_FHIR_VERSION only applies to the demo upstream/);
      expect(error({ CONFIG_FILE: file({}), DEMO_FHIR_VERSION: 'R4B', FHIR_VERSION: 'R5' })).to.match(/^FHIR_VERSION contradicts DEMO_FHIR_VERSION R4B/);
      expect(error({ CONFIG_FILE: file({}), DEMO_UPSTREAM: 'yes' })).to.equal('DEMO_UPSTREAM must be true or false (got "yes")');
      expect(error({ CONFIG_FILE: file({}), DEMO_FHIR_VERSION: 'R6' })).to.equal('DEMO_FHIR_VERSION must be one of R4, R4B, R5 (got "R6")');
    });

    it('takes the version the demo poses as from DEMO_FHIR_VERSION', () => {
      expect(load({ DEMO_FHIR_VERSION: 'R4B' }).demoFhirVersion).to.equal('R4B');
    });
  });
});
