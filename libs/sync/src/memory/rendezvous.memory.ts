import { Rendezvous } from '../sync.ports';
import { Waiters } from '../shared/waiters';

export class MemoryRendezvous extends Rendezvous {
  private readonly waiters = new Waiters();
  private readonly early = new Map<string, { json: string; expiresAt: number }>();
  private sweptAt = 0;

  constructor(private readonly ttlMs: number) {
    super();
  }

  async wait<T = unknown>(key: string, timeoutMs: number): Promise<T | undefined> {
    const kept = this.early.get(key);
    if (kept && kept.expiresAt > Date.now()) return JSON.parse(kept.json) as T;
    return (await this.waiters.add(key, timeoutMs).promise) as T | undefined;
  }

  async signal(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value ?? null);
    this.sweep();
    this.early.set(key, { json, expiresAt: Date.now() + this.ttlMs });
    this.waiters.resolveAll(key, JSON.parse(json));
  }

  close(): void {
    this.waiters.clear();
  }

  /** Drops expired signals, at most once a second so a signal stays O(1) on average. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.sweptAt < 1000) return;
    this.sweptAt = now;
    for (const [key, kept] of this.early) if (kept.expiresAt <= now) this.early.delete(key);
  }
}
