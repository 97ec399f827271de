// The Lua the Redis engine runs, and how a log entry is laid out in Redis.
//
// Scripts touch only the KEYS they are given (never keys built inside Lua), which is what lets
// Redis Cluster route them; callers put a shared {hash tag} in keys used together (checks.ts).
// They are registered with defineCommand, so ioredis sends EVALSHA and falls back to EVAL on
// NOSCRIPT (after a restart or failover the server's script cache is empty).
import type { Cluster, Redis, Result } from 'ioredis';
import type { LogEntry } from './engine.js';

// A log (see redis-log.ts) is a sorted set scored by seq; the member is "<seq>:<at>:<data>". The seq
// in the member keeps members unique even for identical data, and seq and time both grow along the
// set, so the oldest entries are always at the low end. Time comes from the Redis server (TIME),
// not from the caller, so replicas with skewed clocks cannot stamp or trim out of order.

// Both ends in one script so they describe the same moment of the log.
const LOG_BOUNDS = `
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return {} end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return { first[2], last[2] }
`;

// Cluster only. A plain PUBLISH goes to whichever node ioredis picks and reaches subscribers on
// other nodes over that node's cluster-bus link, so consecutive messages sent via different
// nodes can arrive out of order (the engine tests saw it). Naming the channel as the script's
// key makes every message of a channel leave from the node owning that key's slot: one link,
// one order. The key is only used for routing; nothing is stored under it.
const PUBLISH_ROUTED = `
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Empty when the log is empty, else [firstSeq, lastSeq] as strings. */
    fsgLogBounds(logKey: string): Result<string[], Context>;
    /** KEYS: routing key (the channel name). ARGV: channel, message. */
    fsgPublishRouted(routingKey: string, channel: string, message: string): Result<number, Context>;
  }
}

export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('fsgLogBounds', { numberOfKeys: 1, lua: LOG_BOUNDS, readOnly: true });
  client.defineCommand('fsgPublishRouted', { numberOfKeys: 1, lua: PUBLISH_ROUTED });
}

export function decodeLogEntry(member: string): LogEntry {
  const i = member.indexOf(':');
  const j = member.indexOf(':', i + 1);
  return { seq: Number(member.slice(0, i)), at: Number(member.slice(i + 1, j)), data: member.slice(j + 1) };
}
