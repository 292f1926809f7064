import { Cache } from '../sync.ports';

/** Values are kept as JSON text, so callers get copies exactly as the Redis binding returns them. */
export class MemoryCache extends Cache {
  private readonly entries = new Map<string, { json: string; expiresAt: number }>();

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
    this.entries.set(key, { json: JSON.stringify(value), expiresAt: Date.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }
}
