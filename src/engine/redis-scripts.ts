// The Lua the Redis engine runs, and how a log entry is laid out in Redis.
//
// Scripts touch only the KEYS they are given (never keys built inside Lua), which is what lets
// Redis Cluster route them; callers put a shared {hash tag} in keys used together (checks.ts).
// They are registered with defineCommand, so ioredis sends EVALSHA and falls back to EVAL on
// NOSCRIPT (after a restart or failover the server's script cache is empty).
import type { Cluster, Redis, Result } from 'ioredis';
import type { LogEntry } from './engine.js';

// A log is a sorted set scored by seq; the member is "<seq>:<at>:<data>". The seq in the member
// keeps members unique even for identical data, and seq and time both grow along the set, so
// the oldest entries are always at the low end.
//
// Time comes from the Redis server (TIME), not from the caller: entries are appended by many
// gateway replicas and trimmed by age against the same clock that stamped them, so one replica
// with a skewed clock cannot stamp entries out of order or trim its peers' entries early. On a
// Cluster each log lives on one node, so one log still sees one clock.
const APPEND_NUMBERED = `
if redis.replicate_commands then redis.replicate_commands() end
local seq = redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], seq, string.format('%d:%d:', seq, now) .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
local cutoff = now - tonumber(ARGV[3])
while true do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 63)
  local n = 0
  for i, member in ipairs(oldest) do
    if tonumber(string.match(member, '^%d+:(%d+):')) >= cutoff then break end
    n = i
  end
  if n > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - 1) end
  if n < 64 then break end
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return seq
`;

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
    /** KEYS: counter, log. ARGV: data, maxLen, maxAgeMs, ttlMs (0 = leave expiry alone). */
    fsgAppendNumbered(
      counterKey: string,
      logKey: string,
      data: string,
      maxLen: number,
      maxAgeMs: number,
      ttlMs: number,
    ): Result<number, Context>;
    /** Empty when the log is empty, else [firstSeq, lastSeq] as strings. */
    fsgLogBounds(logKey: string): Result<string[], Context>;
    /** KEYS: routing key (the channel name). ARGV: channel, message. */
    fsgPublishRouted(routingKey: string, channel: string, message: string): Result<number, Context>;
  }
}

export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('fsgAppendNumbered', { numberOfKeys: 2, lua: APPEND_NUMBERED });
  client.defineCommand('fsgLogBounds', { numberOfKeys: 1, lua: LOG_BOUNDS, readOnly: true });
  client.defineCommand('fsgPublishRouted', { numberOfKeys: 1, lua: PUBLISH_ROUTED });
}

export function decodeLogEntry(member: string): LogEntry {
  const i = member.indexOf(':');
  const j = member.indexOf(':', i + 1);
  return { seq: Number(member.slice(0, i)), at: Number(member.slice(i + 1, j)), data: member.slice(j + 1) };
}
