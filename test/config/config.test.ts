import { expect } from 'chai';
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
    expect(c.eventsChannel).to.equal('fhir:resource-changes');
    expect(c.fhirUpstreamUrl).to.equal(undefined);
    expect(c.publicBaseUrl).to.equal(undefined);
    expect(c.redis).to.equal(undefined);
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
    ['a body limit that is not a number', { MAX_BODY_BYTES: '5MB' }, /^MAX_BODY_BYTES must be an integer/],
    ['a config file that is missing', { CONFIG_FILE: '/nonexistent/gw.json' }, /^CONFIG_FILE cannot be read/],
  ];
  for (const [what, env, expected] of cases) {
    it(`rejects ${what} with one line naming the key`, () => {
      expect(error({ CONFIG_FILE: env.CONFIG_FILE ?? file({}), ...env })).to.match(expected);
    });
  }

  it('rejects a config file that is not JSON', () => {
    expect(error({ CONFIG_FILE: file('{ port: 1') })).to.match(/^CONFIG_FILE is not valid JSON/);
  });

  it('rejects an unknown key in the config file, so a typo is not silently ignored', () => {
    expect(error({ CONFIG_FILE: file({ prot: 8080 }) })).to.match(/^config file .* prot is not a known key|prot is not a known key/);
  });

  it('rejects a bad value in the config file, naming the key', () => {
    expect(error({ CONFIG_FILE: file({ port: 'x' }) })).to.match(/^port must be an integer/);
    expect(error({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { cluster: { nodes: [{ host: 'c1', port: 0 }] } } }) })).to.match(/^redis\.cluster\.nodes\[0\]\.port must be an integer/);
    expect(error({ CONFIG_FILE: file({ tokenSecret: SECRET, redis: { url: 'redis://a', cluster: { nodes: [{ host: 'c', port: 1 }] } } }) })).to.match(/^redis must set only one of url, sentinel, cluster/);
  });
});
