/**
 * Every Lua script the Redis binding runs, in one place: the bindings run them by SHA (EVALSHA), and
 * bench:sync runs the very same text as its raw baseline, so the two cannot drift apart.
 */
export const SCRIPTS = {
  /** Extends the lock only while `ARGV[1]` still holds it. */
  EXTEND: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`,
  /** Deletes the lock only while `ARGV[1]` still holds it. */
  RELEASE: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
  /** Adds to the window's count, starting the window on its first count; returns { total, ms left }. */
  INCR: `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {total, ttl}`,
  /** Counts `cost` only if the window stays within `limit`; returns { allowed, remaining, ms left }. */
  TAKE: `
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local allowed = 0
if current + cost <= limit then
  current = redis.call('INCRBY', KEYS[1], cost)
  allowed = 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 and current > 0 then redis.call('PEXPIRE', KEYS[1], window); ttl = window end
if ttl < 0 then ttl = window end
return {allowed, limit - current, ttl}`,
  /** Uncounts up to `cost` from a window that still exists; DECRBY keeps the window's expiry. */
  GIVE_BACK: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(current, tonumber(ARGV[1]))
if back > 0 then redis.call('DECRBY', KEYS[1], back) end
return back`,
  /** Records the heartbeat in a sorted set scored by Redis's own clock, never a replica's. */
  BEAT: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
return now`,
  /** Live members with their last heartbeat time and details: { id, ms, json, id, ms, json, … }. */
  LIVE: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local members = redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #members, 2 do
  local info = redis.call('GET', ARGV[2] .. members[i])
  if info then
    table.insert(out, members[i]); table.insert(out, members[i + 1]); table.insert(out, info)
  end
end
return out`,
} as const;
