import { randomUUID } from 'node:crypto';
import { Sweeper } from '../shared/sweeper';
import { wholeMs } from '../shared/arguments';
import { Lock } from '../sync.ports';

export class MemoryLock extends Lock {
  private readonly held = new Map<string, { token: string; expiresAt: number }>();
  private readonly sweeper = new Sweeper();

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    wholeMs('ttlMs', ttlMs);
    if (this.holder(key)) return null;
    this.sweeper.sweep(this.held, (holder, now) => holder.expiresAt <= now);
    const token = randomUUID();
    this.held.set(key, { token, expiresAt: Date.now() + ttlMs });
    return token;
  }

  async extend(key: string, token: string, ttlMs: number): Promise<boolean> {
    wholeMs('ttlMs', ttlMs);
    const holder = this.holder(key);
    if (holder?.token !== token) return false;
    holder.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.holder(key)?.token !== token) return false;
    return this.held.delete(key);
  }

  private holder(key: string) {
    const holder = this.held.get(key);
    if (holder && holder.expiresAt <= Date.now()) this.held.delete(key);
    return holder && holder.expiresAt > Date.now() ? holder : undefined;
  }
}
