// The Lua behind the engine's numbered-stream primitives (engine.ts, "Numbered streams"), kept
// apart from redis-scripts.ts so the event log's storage reads as one piece.
//
// A numbered stream is three kinds of key under one {hash tag}, so each script runs on one Redis
// Cluster slot:
//   <state>  hash: `seq` (last number), `gen` (bumped on every join/leave), `m:<member>` =
//            "<base>,<joinSeq>" (the member's numbers are seq - base, for seq > joinSeq),
//            `l:<member>` (the member's last number after it left)
//   <log>    sorted set scored by seq, member "<seq>:<at>:<data>" (decodeLogEntry reads it)
//   <id>     one string per appended id, holding its seq for maxAgeMs: what makes an append
//            idempotent
//
// Numbers may exceed 2^31 (an epoch's floor, see src/eventlog/epoch.ts); Lua 5.1 turns numbers
// into strings with %.14g, which would round them, so every number written goes through '%d'.
import type { Cluster, Redis, Result } from 'ioredis';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Trimming by age pops the oldest entry while it is too old: each entry is popped once, so the
// cost per append is O(1) amortised (plus the O(log n) of the sorted set).
const STREAM_APPEND = `
if redis.replicate_commands then redis.replicate_commands() end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local known = redis.call('GET', KEYS[3])
if known then return { known, gen, 0 } end
${NOW_MS}
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local s = string.format('%d', seq)
redis.call('ZADD', KEYS[2], s, s .. ':' .. string.format('%d', now) .. ':' .. ARGV[1])
redis.call('SET', KEYS[3], s, 'PX', ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[2]) - 1)
local cutoff = now - tonumber(ARGV[3])
while true do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #oldest == 0 or tonumber(string.match(oldest[1], '^%d+:(%d+):')) >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return { s, gen, 1 }
`;

const STREAM_JOIN = `
local b = redis.call('HGET', KEYS[1], 'm:' .. ARGV[1])
if b then return b end
local count = tonumber(ARGV[2])
if count < 0 then count = tonumber(redis.call('HGET', KEYS[1], 'l:' .. ARGV[1]) or '0') end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local m = string.format('%d,%d', seq - count, seq)
redis.call('HSET', KEYS[1], 'm:' .. ARGV[1], m)
redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1])
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return m
`;

const STREAM_LEAVE = `
local b = redis.call('HGET', KEYS[1], 'm:' .. ARGV[1])
if not b then return redis.call('HGET', KEYS[1], 'l:' .. ARGV[1]) end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local last = string.format('%d', seq - tonumber(string.match(b, '^(-?%d+),')))
redis.call('HDEL', KEYS[1], 'm:' .. ARGV[1])
redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], last)
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return last
`;

const SET_IF = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: state, log, id. ARGV: data, maxLen, maxAgeMs. Returns [seq, gen, fresh]. */
    fsgStreamAppend(state: string, log: string, id: string, data: string, maxLen: number, maxAgeMs: number): Result<[string, number, number], Context>;
    /** KEYS: state. ARGV: member, count (-1: continue from the member's last number). "<base>,<joinSeq>". */
    fsgStreamJoin(state: string, member: string, count: number): Result<string, Context>;
    /** KEYS: state. ARGV: member. The member's last number, or null when it never joined. */
    fsgStreamLeave(state: string, member: string): Result<string | null, Context>;
    /** KEYS: key. ARGV: '1' when expected is given, expected, value. */
    fsgSetIf(key: string, hasExpected: string, expected: string, value: string): Result<number, Context>;
  }
}

export function defineLogScripts(client: Redis | Cluster): void {
  client.defineCommand('fsgStreamAppend', { numberOfKeys: 3, lua: STREAM_APPEND });
  client.defineCommand('fsgStreamJoin', { numberOfKeys: 1, lua: STREAM_JOIN });
  client.defineCommand('fsgStreamLeave', { numberOfKeys: 1, lua: STREAM_LEAVE });
  client.defineCommand('fsgSetIf', { numberOfKeys: 1, lua: SET_IF });
}
