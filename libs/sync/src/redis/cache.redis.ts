import { Cache } from '../sync.ports';
import { wholeMs } from '../shared/arguments';
import { RedisConnections } from './connections.redis';

/** Values live in Redis, so a set or delete on one replica is what every replica reads next. */
export class RedisCache extends Cache {
  constructor(private readonly redis: RedisConnections) {
    super();
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const json = await this.redis.run('cache', 'get', () => this.redis.command.get(this.redis.key(`cache:${key}`)));
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    wholeMs('ttlMs', ttlMs);
    await this.redis.run('cache', 'set', () => this.redis.command.set(this.redis.key(`cache:${key}`), JSON.stringify(value ?? null), 'PX', ttlMs));
  }

  async del(key: string): Promise<void> {
    await this.redis.run('cache', 'del', () => this.redis.command.del(this.redis.key(`cache:${key}`)));
  }
}
