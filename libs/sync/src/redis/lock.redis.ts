import { randomUUID } from 'node:crypto';
import { wholeMs } from '../shared/arguments';
import { Lock } from '../sync.ports';
import { RedisConnections } from './connections.redis';
import { SCRIPTS } from './scripts.redis';

/** `SET NX PX` to take; compare-and-extend and compare-and-delete scripts so only the token holder acts. */
export class RedisLock extends Lock {
  constructor(private readonly redis: RedisConnections) {
    super();
  }

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    wholeMs('ttlMs', ttlMs);
    const token = randomUUID();
    const taken = await this.redis.run('lock', 'acquire', () => this.redis.command.set(this.redis.key(`lock:${key}`), token, 'PX', ttlMs, 'NX'));
    return taken === 'OK' ? token : null;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    wholeMs('ttlMs', ttlMs);
    const done = await this.redis.run('lock', 'extend', () => this.redis.script(SCRIPTS.EXTEND, [this.redis.key(`lock:${key}`)], [token, ttlMs]));
    return done === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    const done = await this.redis.run('lock', 'release', () => this.redis.script(SCRIPTS.RELEASE, [this.redis.key(`lock:${key}`)], [token]));
    return done === 1;
  }
}
