import { Cache } from '../sync.ports';
import { Sweeper } from '../shared/sweeper';
import { wholeMs } from '../shared/arguments';

/** Values are kept as JSON text, so callers get copies exactly as the Redis binding returns them. */
export class MemoryCache extends Cache {
  private readonly entries = new Map<string, { json: string; expiresAt: number }>();
  private readonly sweeper = new Sweeper();

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return JSON.parse(entry.json) as T;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    wholeMs('ttlMs', ttlMs);
    this.sweeper.sweep(this.entries, (entry, now) => entry.expiresAt <= now);
    this.entries.set(key, { json: JSON.stringify(value ?? null), expiresAt: Date.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }
}
