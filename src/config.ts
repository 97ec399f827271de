import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAllowList } from './fhir/endpoint-rule.js';

export type FhirVersion = 'R4' | 'R4B' | 'R5';

export type TokenAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisConfig {
  url?: string;
  sentinel?: { sentinels: RedisNode[]; name: string; password?: string; sentinelPassword?: string; tls?: boolean };
  cluster?: { nodes: RedisNode[]; password?: string; tls?: boolean };
  keyPrefix: string;
}

export interface Config {
  port: number;
  host: string;
  fhirUpstreamUrl?: string;
  /**
   * Whether the in-memory demo upstream runs (resolved at load): DEMO_UPSTREAM=true asks for it,
   * false forbids it (FHIR_UPSTREAM_URL is then required, as in the image); unset, it runs exactly
   * when FHIR_UPSTREAM_URL is unset.
   */
  demoUpstream: boolean;
  /** The FHIR version the demo upstream poses as (DEMO_FHIR_VERSION); R4 when unset. */
  demoFhirVersion?: FhirVersion;
  upstreamAliases: string[];
  /** Unset: http://localhost:<listening port><fhirBasePath>, filled in once the port is known. */
  publicBaseUrl?: string;
  /** Unset: ws(s)://<public host>/ws, derived from publicBaseUrl. */
  publicWsUrl?: string;
  /** Authorization header value for the gateway's own upstream calls (registry, topics). */
  upstreamAuthorization?: string;
  /** Directory of SubscriptionTopic JSON files. */
  topicsDir: string;
  /** How often the subscription registry and topics are re-read from the upstream. */
  resyncIntervalMs: number;
  /** How long start-up waits for the upstream to answer metadata before giving up. */
  upstreamWaitMs: number;
  wsMaxFrameBytes: number;
  wsMaxBufferedBytes: number;
  wsMaxBindingsPerSocket: number;
  wsMaxConnections: number;
  wsIdleTimeoutSeconds: number;
  wsMaxBadFrames: number;
  /** A websocket subscription with no binding for this long is turned off. */
  abandonedSubscriptionMs: number;
  /** Event log retention per subscription: at most this many events... */
  eventLogMax: number;
  /** ...and none older than this. Also how long an event's body is kept. */
  eventLogMaxAgeMs: number;
  fhirBasePath: string;
  fhirVersion?: FhirVersion;
  redis?: RedisConfig;
  /**
   * The exact pub/sub channel producers PUBLISH to. Unset: `fhir:resource-changes` with the default
   * key prefix, `<prefix>fhir:resource-changes` with another, so deployments sharing a Redis stay apart.
   */
  eventsChannel?: string;
  /** The durable input (a Redis stream, or in-process on memory); unset: the channel only. */
  eventsStream?: string;
  /** The stream's consumer group; unset: `<keyPrefix>gateway`, one per deployment. */
  eventsStreamGroup?: string;
  /** Stream trimming: about this many newest entries (XADD MAXLEN ~)... */
  eventsStreamMaxLen: number;
  /** ...and none older than this (XTRIM MINID ~, every minute). */
  eventsStreamMaxAgeMs: number;
  /** An entry pending this long on a replica that stopped is taken over by another. */
  eventsStreamReclaimMs: number;
  /** How often the upstream's _history is read for changes no producer reported; 0: never. */
  catchupIntervalMs: number;
  /** A Redis command not answered within this fails, and callers answer 503. */
  redisCommandTimeoutMs: number;
  /** HS256 signs binding tokens with tokenSecret; RS256/ES256 with the key files. */
  tokenAlgorithm: TokenAlgorithm;
  tokenSecret?: string;
  tokenPrivateKeyFile?: string;
  tokenPublicKeyFile?: string;
  /** PEM text of the key files, read at load (RS256/ES256 only). */
  tokenPrivateKey?: string;
  tokenPublicKey?: string;
  /** How long a binding token from $get-ws-binding-token is valid. */
  tokenLifetimeSeconds: number;
  logLevel: string;
  upstreamTimeoutMs: number;
  upstreamConnections: number;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  /** Rest-hook endpoints allowed beyond public https hosts: host names, `*.suffix`, addresses, CIDRs. */
  resthookAllow: string[];
  /** `auto`: pretty lines on a terminal (when pino-pretty is installed), JSON otherwise. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** How often an info line sums up the last interval's activity. */
  logSummaryIntervalMs: number;
  /** Serve the browser console at /console; default on only with the embedded demo upstream. */
  consoleEnabled: boolean;
  /** upstream: a binding is sent only what its credential may read at the upstream; none: no check. */
  deliveryAuthorization: 'upstream' | 'none';
  /** A delivery access check not answered within this counts as failed (the resource is withheld). */
  deliveryAuthorizationTimeoutMs: number;
}

/** A bad configuration value: the message is one line naming the key and what is wrong. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Source = Record<string, unknown>;
type Parse<T> = (raw: unknown, key: string) => T;

const fail = (key: string, what: string, raw: unknown): never => {
  throw new ConfigError(`${key} ${what} (got ${JSON.stringify(raw)})`);
};

const str: Parse<string> = (raw, key) => (typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : fail(key, 'must be a non-empty string', raw));

const int =
  (min: number, max: number): Parse<number> =>
  (raw, key) => {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(key, `must be an integer from ${min} to ${max}`, raw);
  };

/** A period in milliseconds, or 0 for never. */
const periodOrOff =
  (min: number, max: number): Parse<number> =>
  (raw, key) => {
    const n = int(0, max)(raw, key);
    return n === 0 || n >= min ? n : fail(key, `must be 0 (off) or from ${min} to ${max}`, raw);
  };

const oneOf =
  <T extends string>(...values: T[]): Parse<T> =>
  (raw, key) =>
    values.includes(raw as T) ? (raw as T) : fail(key, `must be one of ${values.join(', ')}`, raw);

const url =
  (...protocols: string[]): Parse<string> =>
  (raw, key) => {
    const s = str(raw, key);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return fail(key, 'must be an absolute URL', raw);
    }
    if (!protocols.includes(u.protocol)) fail(key, `must use ${protocols.map((p) => p + '//').join(' or ')}`, raw);
    if (u.search || u.hash) fail(key, 'must not have a query or fragment', raw);
    return s.replace(/\/+$/, '');
  };

const bool: Parse<boolean> = (raw, key) => (typeof raw === 'boolean' ? raw : raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : fail(key, 'must be true or false', raw));

const basePath: Parse<string> = (raw, key) => {
  const s = str(raw, key);
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(s) || s.includes('//')) fail(key, 'must be a path such as /fhir', raw);
  const trimmed = s.replace(/\/+$/, '');
  return trimmed === '' ? fail(key, 'must not be the root path (the gateway serves /ws, /healthz, /metrics there)', raw) : trimmed;
};

const urlList: Parse<string[]> = (raw, key) => {
  const items = Array.isArray(raw)
    ? raw
    : typeof raw === 'string'
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : fail(key, 'must be a list of URLs', raw);
  return items.map((item, i) => url('http:', 'https:')(item, `${key}[${i}]`));
};

const allowList: Parse<string[]> = (raw, key) => {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : fail(key, 'must be a comma-separated list (or, in the file, an array) of host names or CIDR ranges', raw);
  const entries = items.map((item, i) => (typeof item === 'string' ? item.trim() : fail(`${key}[${i}]`, 'must be a string', item))).filter(Boolean);
  try {
    parseAllowList(entries);
  } catch (err) {
    fail(key, (err as Error).message, raw);
  }
  return entries;
};

const nodes: Parse<RedisNode[]> = (raw, key) => {
  if (!Array.isArray(raw) || raw.length === 0) return fail(key, 'must be a non-empty list of {host, port}', raw);
  return raw.map((n: unknown, i) => {
    const o = n as Source;
    if (typeof o !== 'object' || o === null) return fail(`${key}[${i}]`, 'must be {host, port}', n);
    return { host: str(o.host, `${key}[${i}].host`), port: int(1, 65535)(o.port, `${key}[${i}].port`) };
  });
};

const optionalString = (o: Source, k: string, key: string) => (o[k] === undefined ? undefined : str(o[k], `${key}.${k}`));
const optionalBool = (o: Source, k: string, key: string) => (o[k] === undefined ? undefined : typeof o[k] === 'boolean' ? o[k] : fail(`${key}.${k}`, 'must be true or false', o[k]));

function objectOf(raw: unknown, key: string, allowed: string[]): Source {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(key, 'must be an object', raw);
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) fail(`${key}.${k}`, `is not a known key (known: ${allowed.join(', ')})`, (raw as Source)[k]);
  return raw as Source;
}

/** Every key and internal channel lives under it; deployments sharing one Redis set their own. */
export const DEFAULT_KEY_PREFIX = 'fsg:';

function redisFromFile(raw: unknown): RedisConfig {
  const o = objectOf(raw, 'redis', ['url', 'sentinel', 'cluster', 'keyPrefix']);
  const out: RedisConfig = { keyPrefix: o.keyPrefix === undefined ? DEFAULT_KEY_PREFIX : str(o.keyPrefix, 'redis.keyPrefix') };
  if (o.url !== undefined) out.url = url('redis:', 'rediss:')(o.url, 'redis.url');
  if (o.sentinel !== undefined) {
    const s = objectOf(o.sentinel, 'redis.sentinel', ['sentinels', 'name', 'password', 'sentinelPassword', 'tls']);
    out.sentinel = {
      sentinels: nodes(s.sentinels, 'redis.sentinel.sentinels'),
      name: str(s.name, 'redis.sentinel.name'),
      password: optionalString(s, 'password', 'redis.sentinel'),
      sentinelPassword: optionalString(s, 'sentinelPassword', 'redis.sentinel'),
      tls: optionalBool(s, 'tls', 'redis.sentinel'),
    };
  }
  if (o.cluster !== undefined) {
    const c = objectOf(o.cluster, 'redis.cluster', ['nodes', 'password', 'tls']);
    out.cluster = { nodes: nodes(c.nodes, 'redis.cluster.nodes'), password: optionalString(c, 'password', 'redis.cluster'), tls: optionalBool(c, 'tls', 'redis.cluster') };
  }
  const modes = [out.url, out.sentinel, out.cluster].filter((m) => m !== undefined).length;
  if (modes > 1) fail('redis', 'must set only one of url, sentinel, cluster', raw);
  return out;
}

interface Key<T> {
  env?: string;
  parse: Parse<T>;
}

// Scalar keys: the config file uses the camelCase name, the environment the upper-case one.
const KEYS = {
  port: { env: 'PORT', parse: int(0, 65535) },
  host: { env: 'HOST', parse: str },
  fhirUpstreamUrl: { env: 'FHIR_UPSTREAM_URL', parse: url('http:', 'https:') },
  upstreamAliases: { env: 'FHIR_UPSTREAM_ALIASES', parse: urlList },
  demoUpstream: { env: 'DEMO_UPSTREAM', parse: bool },
  demoFhirVersion: { env: 'DEMO_FHIR_VERSION', parse: oneOf<FhirVersion>('R4', 'R4B', 'R5') },
  publicBaseUrl: { env: 'PUBLIC_BASE_URL', parse: url('http:', 'https:') },
  publicWsUrl: { env: 'PUBLIC_WS_URL', parse: url('ws:', 'wss:') },
  upstreamAuthorization: { env: 'FHIR_UPSTREAM_AUTHORIZATION', parse: str },
  topicsDir: { env: 'TOPICS_DIR', parse: str },
  resyncIntervalMs: { env: 'RESYNC_INTERVAL_MS', parse: int(1000, 86_400_000) },
  upstreamWaitMs: { env: 'UPSTREAM_WAIT_MS', parse: int(0, 3_600_000) },
  eventLogMax: { env: 'EVENT_LOG_MAX', parse: int(1, 1_000_000) },
  wsMaxFrameBytes: { env: 'WS_MAX_FRAME_BYTES', parse: int(1024, 16 * 1024 * 1024) },
  wsMaxBufferedBytes: { env: 'WS_MAX_BUFFERED_BYTES', parse: int(64 * 1024, 1024 * 1024 * 1024) },
  wsMaxBindingsPerSocket: { env: 'WS_MAX_BINDINGS_PER_SOCKET', parse: int(1, 100_000) },
  wsMaxConnections: { env: 'WS_MAX_CONNECTIONS', parse: int(1, 10_000_000) },
  wsIdleTimeoutSeconds: { env: 'WS_IDLE_TIMEOUT_SECONDS', parse: int(8, 3600) },
  wsMaxBadFrames: { env: 'WS_MAX_BAD_FRAMES', parse: int(1, 1000) },
  abandonedSubscriptionMs: { env: 'ABANDONED_SUBSCRIPTION_MS', parse: int(1000, 365 * 86_400_000) },
  eventLogMaxAgeMs: { env: 'EVENT_LOG_MAX_AGE_MS', parse: int(1000, 365 * 86_400_000) },
  fhirBasePath: { env: 'FHIR_BASE_PATH', parse: basePath },
  fhirVersion: { env: 'FHIR_VERSION', parse: oneOf<FhirVersion>('R4', 'R4B', 'R5') },
  eventsChannel: { env: 'EVENTS_CHANNEL', parse: str },
  eventsStream: { env: 'EVENTS_STREAM', parse: str },
  eventsStreamGroup: { env: 'EVENTS_STREAM_GROUP', parse: str },
  eventsStreamMaxLen: { env: 'EVENTS_STREAM_MAX_LEN', parse: int(1000, 100_000_000) },
  eventsStreamMaxAgeMs: { env: 'EVENTS_STREAM_MAX_AGE_MS', parse: int(60_000, 365 * 86_400_000) },
  eventsStreamReclaimMs: { env: 'EVENTS_STREAM_RECLAIM_MS', parse: int(1000, 3_600_000) },
  catchupIntervalMs: { env: 'CATCHUP_INTERVAL_MS', parse: periodOrOff(1000, 86_400_000) },
  redisCommandTimeoutMs: { env: 'REDIS_COMMAND_TIMEOUT_MS', parse: int(100, 60_000) },
  tokenSecret: { env: 'TOKEN_SECRET', parse: str },
  tokenAlgorithm: { env: 'TOKEN_ALGORITHM', parse: oneOf<TokenAlgorithm>('HS256', 'RS256', 'ES256') },
  tokenPrivateKeyFile: { env: 'TOKEN_PRIVATE_KEY_FILE', parse: str },
  tokenPublicKeyFile: { env: 'TOKEN_PUBLIC_KEY_FILE', parse: str },
  tokenLifetimeSeconds: { env: 'TOKEN_LIFETIME_SECONDS', parse: int(60, 86_400) },
  logLevel: { env: 'LOG_LEVEL', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  upstreamTimeoutMs: { env: 'UPSTREAM_TIMEOUT_MS', parse: int(100, 3_600_000) },
  upstreamConnections: { env: 'UPSTREAM_CONNECTIONS', parse: int(1, 10_000) },
  maxBodyBytes: { env: 'MAX_BODY_BYTES', parse: int(1024, 2 ** 31 - 1) },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', parse: int(0, 600_000) },
  resthookAllow: { env: 'RESTHOOK_ALLOW', parse: allowList },
  consoleEnabled: { env: 'CONSOLE_ENABLED', parse: bool },
  logFormat: { env: 'LOG_FORMAT', parse: oneOf('auto', 'json', 'pretty') },
  logSummaryIntervalMs: { env: 'LOG_SUMMARY_INTERVAL_MS', parse: int(1000, 86_400_000) },
  deliveryAuthorization: { env: 'DELIVERY_AUTHORIZATION', parse: oneOf('upstream', 'none') },
  deliveryAuthorizationTimeoutMs: { env: 'DELIVERY_AUTHORIZATION_TIMEOUT_MS', parse: int(100, 600_000) },
} satisfies Record<string, Key<unknown>>;

type ScalarKey = keyof typeof KEYS;

const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  upstreamAliases: [] as string[],
  fhirBasePath: '/fhir',
  topicsDir: 'config/topics',
  resyncIntervalMs: 60_000,
  upstreamWaitMs: 30_000,
  eventLogMax: 1000,
  wsMaxFrameBytes: 64 * 1024,
  wsMaxBufferedBytes: 4 * 1024 * 1024,
  wsMaxBindingsPerSocket: 100,
  wsMaxConnections: 50_000,
  wsIdleTimeoutSeconds: 120,
  wsMaxBadFrames: 5,
  abandonedSubscriptionMs: 24 * 3_600_000,
  eventLogMaxAgeMs: 24 * 3_600_000,
  eventsStreamMaxLen: 100_000,
  eventsStreamMaxAgeMs: 24 * 3_600_000,
  eventsStreamReclaimMs: 30_000,
  catchupIntervalMs: 60_000,
  redisCommandTimeoutMs: 800,
  tokenAlgorithm: 'HS256',
  tokenLifetimeSeconds: 3600,
  logLevel: 'info',
  upstreamTimeoutMs: 30_000,
  upstreamConnections: 64,
  maxBodyBytes: 32 * 1024 * 1024,
  shutdownTimeoutMs: 10_000,
  resthookAllow: [] as string[],
  logFormat: 'auto',
  logSummaryIntervalMs: 60_000,
  deliveryAuthorization: 'upstream',
  deliveryAuthorizationTimeoutMs: 5000,
};

function readFile(path: string, explicit: boolean): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    return fail('CONFIG_FILE', `cannot be read: ${(err as Error).message}`, path);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return fail('CONFIG_FILE', `is not valid JSON: ${(err as Error).message}`, path);
  }
  return objectOf(parsed, `config file ${path}`, [...Object.keys(KEYS), 'redis']);
}

/** defaults < config file < environment. Throws ConfigError on the first bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const explicitFile = env.CONFIG_FILE !== undefined && env.CONFIG_FILE !== '';
  const file = readFile(explicitFile ? env.CONFIG_FILE! : 'config/default.json', explicitFile);

  const values: Partial<Record<ScalarKey, unknown>> = { ...DEFAULTS };
  // The name each value was given under (file key or environment variable), for later errors.
  const label = (name: ScalarKey): string => labels.get(name) ?? KEYS[name].env ?? name;
  const labels = new Map<ScalarKey, string>();
  for (const [name, key] of Object.entries(KEYS) as [ScalarKey, Key<unknown>][]) {
    if (file[name] !== undefined && file[name] !== null) {
      values[name] = key.parse(file[name], name);
      labels.set(name, name);
    }
    const fromEnv = key.env ? env[key.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') {
      values[name] = key.parse(fromEnv, key.env!);
      labels.set(name, key.env!);
    }
  }

  let redis = file.redis === undefined || file.redis === null ? undefined : redisFromFile(file.redis);
  if (env.REDIS_URL) redis = { keyPrefix: redis?.keyPrefix ?? DEFAULT_KEY_PREFIX, url: url('redis:', 'rediss:')(env.REDIS_URL, 'REDIS_URL') };
  if (redis && env.REDIS_KEY_PREFIX) redis.keyPrefix = str(env.REDIS_KEY_PREFIX, 'REDIS_KEY_PREFIX');
  redisPasswords(redis, env);
  if (redis && !redis.url && !redis.sentinel && !redis.cluster) redis = undefined;

  const config = values as unknown as Config;
  config.redis = redis;
  demoUpstream(config, values.demoUpstream as boolean | undefined, label);
  config.consoleEnabled ??= config.demoUpstream;
  tokenKeys(config, label);
  return config;
}

/** Resolves whether the demo upstream runs; contradictions stop the start rather than guess. */
function demoUpstream(config: Config, asked: boolean | undefined, label: (name: ScalarKey) => string): void {
  if (asked === true && config.fhirUpstreamUrl) {
    throw new ConfigError(`${label('demoUpstream')} is true but ${label('fhirUpstreamUrl')} is set: the demo upstream replaces the real one, so set only one of them`);
  }
  if (asked === false && !config.fhirUpstreamUrl) {
    throw new ConfigError(
      `${label('fhirUpstreamUrl')} is required: set it to your FHIR server's base URL (or set ${label('demoUpstream')}=true to run the in-memory demo upstream, for development only)`,
    );
  }
  config.demoUpstream = asked ?? !config.fhirUpstreamUrl;
  if (config.demoFhirVersion && !config.demoUpstream) {
    fail(label('demoFhirVersion'), 'only applies to the demo upstream, which is not running (FHIR_UPSTREAM_URL is set): remove it', config.demoFhirVersion);
  }
  if (config.demoUpstream && config.demoFhirVersion && config.fhirVersion && config.fhirVersion !== config.demoFhirVersion) {
    fail(label('fhirVersion'), `contradicts ${label('demoFhirVersion')} ${config.demoFhirVersion}: leave it unset, the gateway reads the demo's version`, config.fhirVersion);
  }
}

/**
 * Sentinel and Cluster passwords from the environment, so that a deployment can keep them in a
 * secret store while the rest of the Redis settings sit in a plain config file. A URL carries its
 * own password, so these are refused beside one rather than silently ignored.
 */
function redisPasswords(redis: RedisConfig | undefined, env: NodeJS.ProcessEnv): void {
  const password = env.REDIS_PASSWORD ? str(env.REDIS_PASSWORD, 'REDIS_PASSWORD') : undefined;
  const sentinelPassword = env.REDIS_SENTINEL_PASSWORD ? str(env.REDIS_SENTINEL_PASSWORD, 'REDIS_SENTINEL_PASSWORD') : undefined;
  if (password !== undefined) {
    if (redis?.sentinel) redis.sentinel.password = password;
    else if (redis?.cluster) redis.cluster.password = password;
    else fail('REDIS_PASSWORD', 'applies only to redis.sentinel or redis.cluster (a Redis URL carries its own password)', '[redacted]');
  }
  if (sentinelPassword !== undefined) {
    if (redis?.sentinel) redis.sentinel.sentinelPassword = sentinelPassword;
    else fail('REDIS_SENTINEL_PASSWORD', 'applies only to redis.sentinel', '[redacted]');
  }
}

/**
 * Binding-token keys. HS256 uses TOKEN_SECRET; RS256/ES256 use a PEM key pair read here, so a
 * bad file stops the start with its name. Several replicas must verify each other's tokens, so a
 * per-process random secret (what the gateway makes when nothing is set) only works for a lone
 * replica on the memory engine.
 */
function tokenKeys(config: Config, label: (name: ScalarKey) => string): void {
  const files = (['tokenPrivateKeyFile', 'tokenPublicKeyFile'] as const).filter((k) => config[k] !== undefined);
  if (config.tokenAlgorithm === 'HS256') {
    if (files.length > 0) fail(label('tokenAlgorithm'), `must be RS256 or ES256 when ${label(files[0]!)} is set`, config.tokenAlgorithm);
    if (config.redis && !config.tokenSecret) {
      throw new ConfigError(
        'TOKEN_SECRET is required when Redis is configured (replicas must share the binding-token key), or set TOKEN_ALGORITHM to RS256 or ES256 with TOKEN_PRIVATE_KEY_FILE and TOKEN_PUBLIC_KEY_FILE',
      );
    }
    if (config.tokenSecret && config.tokenSecret.length < 32) {
      fail(label('tokenSecret'), 'must be at least 32 characters', '[redacted]');
    }
    return;
  }
  if (config.tokenSecret) fail(label('tokenSecret'), `is only used with TOKEN_ALGORITHM HS256, not ${config.tokenAlgorithm}: remove it`, '[redacted]');
  for (const k of ['tokenPrivateKeyFile', 'tokenPublicKeyFile'] as const) {
    if (config[k] === undefined) throw new ConfigError(`${label(k)} is required when ${label('tokenAlgorithm')} is ${config.tokenAlgorithm}`);
  }
  const read = (k: 'tokenPrivateKeyFile' | 'tokenPublicKeyFile'): string => {
    try {
      return readFileSync(config[k]!, 'utf8');
    } catch (err) {
      return fail(label(k), `cannot be read: ${(err as Error).message.split('\n')[0]}`, config[k]);
    }
  };
  const privatePem = read('tokenPrivateKeyFile');
  const publicPem = read('tokenPublicKeyFile');
  const keyOf = (k: 'tokenPrivateKeyFile' | 'tokenPublicKeyFile', make: () => KeyObject): KeyObject => {
    let key: KeyObject;
    try {
      key = make();
    } catch {
      return fail(label(k), `does not hold a PEM ${k === 'tokenPrivateKeyFile' ? 'private' : 'public'} key`, config[k]);
    }
    const expected = config.tokenAlgorithm === 'RS256' ? 'an RSA key' : 'an EC P-256 key';
    const fits =
      config.tokenAlgorithm === 'RS256'
        ? key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
        : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    if (!fits) fail(label(k), `must hold ${expected}${config.tokenAlgorithm === 'RS256' ? ' of at least 2048 bits' : ''} for ${config.tokenAlgorithm}`, config[k]);
    return key;
  };
  const privateKey = keyOf('tokenPrivateKeyFile', () => createPrivateKey(privatePem));
  // A private key file would also yield a public key; insist on a public one so the pair is explicit.
  const publicKey = keyOf('tokenPublicKeyFile', () => {
    if (/PRIVATE KEY/.test(publicPem)) throw new Error('private');
    return createPublicKey(publicPem);
  });
  const probe = Buffer.from('fhir-subscription-gateway key check');
  if (!verify('sha256', probe, publicKey, sign('sha256', probe, privateKey))) {
    fail(label('tokenPublicKeyFile'), `does not match ${label('tokenPrivateKeyFile')}`, config.tokenPublicKeyFile);
  }
  config.tokenPrivateKey = privatePem;
  config.tokenPublicKey = publicPem;
}
