// Turning the gateway's Redis connection options (URL, Sentinel or Cluster) into ioredis
// clients. Kept apart from the engine so the engine does not care which topology it runs on.
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface HostPort {
  host: string;
  port: number;
}

export interface SentinelConnection {
  sentinels: HostPort[];
  /** The master group name the sentinels monitor. */
  name: string;
  username?: string | undefined;
  password?: string | undefined;
  sentinelUsername?: string | undefined;
  sentinelPassword?: string | undefined;
  db?: number | undefined;
  /** TLS to both the sentinels and the master. */
  tls?: boolean | undefined;
}

export interface ClusterConnection {
  nodes: HostPort[];
  username?: string | undefined;
  password?: string | undefined;
  tls?: boolean | undefined;
}

/** Exactly one of: url (redis:// or rediss:// for TLS), sentinel, cluster. The others may be
 * present as undefined, as they are in a parsed config object. */
export type RedisConnection =
  | { url: string; sentinel?: undefined; cluster?: undefined }
  | { sentinel: SentinelConnection; url?: undefined; cluster?: undefined }
  | { cluster: ClusterConnection; url?: undefined; sentinel?: undefined };

export type RedisClient = Redis | Cluster;

export type Role = 'command' | 'subscriber' | 'streams' | 'stream-reader';

/** How long a command may wait for Redis before it fails as unavailable (see unavailable.ts). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 800;

/** Where we connect, for log lines and errors; never includes credentials. */
export function describeConnection(connection: RedisConnection): string {
  if (connection.url !== undefined) {
    try {
      const url = new URL(connection.url);
      return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
    } catch {
      return 'an unparseable REDIS_URL';
    }
  }
  if (connection.sentinel) {
    const hosts = connection.sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    return `sentinel master "${connection.sentinel.name}" via ${hosts}`;
  }
  return `cluster via ${connection.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

export function createClient(connection: RedisConnection, role: Role, options: { keyPrefix: string; connectionName: string; commandTimeoutMs?: number | undefined }): RedisClient {
  // keyPrefix only on the command connection: ioredis never prefixes channel names, so the
  // engine prefixes those itself and the subscriber must not add anything.
  const common: RedisOptions = {
    lazyConnect: true,
    connectionName: role === 'command' ? options.connectionName : `${options.connectionName}:${role === 'subscriber' ? 'sub' : role}`,
    ...(role === 'command' ? { keyPrefix: options.keyPrefix } : {}),
    // During an outage a command fails at once (not queued) and one that Redis does not answer
    // (paused, stopped) fails after the timeout: callers answer 503 within a second instead of
    // hanging. Reconnecting goes on in the background, and subscriptions come back with it.
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // Channels are resubscribed after every reconnect (ioredis' default, stated because the
    // subscriber depends on it).
    autoResubscribe: true,
  };
  if (connection.url !== undefined) return new Redis(connection.url, common);
  if (connection.sentinel) {
    const s = connection.sentinel;
    return new Redis({
      ...common,
      sentinels: s.sentinels,
      name: s.name,
      username: s.username,
      password: s.password,
      sentinelUsername: s.sentinelUsername,
      sentinelPassword: s.sentinelPassword,
      db: s.db ?? 0,
      ...(s.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    });
  }
  const c = connection.cluster;
  // The Cluster takes keyPrefix itself and connects its nodes lazily on its own.
  const { keyPrefix, lazyConnect: _, ...redisOptions } = common;
  return new Cluster(c.nodes, {
    lazyConnect: true,
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    redisOptions: {
      ...redisOptions,
      username: c.username,
      password: c.password,
      ...(c.tls ? { tls: {} } : {}),
    },
  });
}
