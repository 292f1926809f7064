import { Counters, TakeResult } from '../sync.ports';
import { wholeMs, wholeNumber } from '../shared/arguments';
import { RedisConnections } from './connections.redis';

/** Adds to the window's count, starting the window on its first count; returns { total, ms left }. */
const INCR = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {total, ttl}`;

/** Counts `cost` only if the window stays within `limit`; returns { allowed, remaining, ms left }. */
const TAKE = `
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
return {allowed, limit - current, ttl}`;

/** Each call is one script, so concurrent replicas never overshoot a limit. */
export class RedisCounters extends Counters {
  constructor(private readonly redis: RedisConnections) {
    super();
  }

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    wholeNumber('by', by, 0);
    wholeMs('windowMs', windowMs);
    const [total] = (await this.redis.run('counters', 'incr', () =>
      this.redis.script(INCR, [this.redis.key(`counter:${key}`)], [by, windowMs]),
    )) as [number, number];
    return total;
  }

  async take(key: string, limit: number, windowMs: number, cost = 1): Promise<TakeResult> {
    wholeNumber('limit', limit, 0);
    wholeMs('windowMs', windowMs);
    wholeNumber('cost', cost, 1);
    const [allowed, remaining, resetMs] = (await this.redis.run('counters', 'take', () =>
      this.redis.script(TAKE, [this.redis.key(`counter:${key}`)], [limit, windowMs, cost]),
    )) as [number, number, number];
    return { allowed: allowed === 1, remaining: Math.max(0, remaining), resetMs };
  }
}
