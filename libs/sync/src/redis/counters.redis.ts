import { Counters, TakeResult } from '../sync.ports';
import { wholeMs, wholeNumber } from '../shared/arguments';
import { RedisConnections } from './connections.redis';
import { SCRIPTS } from './scripts.redis';

/** Each call is one script, so concurrent replicas never overshoot a limit. */
export class RedisCounters extends Counters {
  constructor(private readonly redis: RedisConnections) {
    super();
  }

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    wholeNumber('by', by, 0);
    wholeMs('windowMs', windowMs);
    const [total] = (await this.redis.run('counters', 'incr', () =>
      this.redis.script(SCRIPTS.INCR, [this.redis.key(`counter:${key}`)], [by, windowMs]),
    )) as [number, number];
    return total;
  }

  async take(key: string, limit: number, windowMs: number, cost = 1): Promise<TakeResult> {
    wholeNumber('limit', limit, 0);
    wholeMs('windowMs', windowMs);
    wholeNumber('cost', cost, 1);
    const [allowed, remaining, resetMs] = (await this.redis.run('counters', 'take', () =>
      this.redis.script(SCRIPTS.TAKE, [this.redis.key(`counter:${key}`)], [limit, windowMs, cost]),
    )) as [number, number, number];
    return { allowed: allowed === 1, remaining: Math.max(0, remaining), resetMs };
  }

  async giveBack(key: string, cost = 1): Promise<void> {
    wholeNumber('cost', cost, 1);
    await this.redis.run('counters', 'giveBack', () => this.redis.script(SCRIPTS.GIVE_BACK, [this.redis.key(`counter:${key}`)], [cost]));
  }
}
