import { Rendezvous } from '../sync.ports';
import { Sweeper } from '../shared/sweeper';
import { Waiters } from '../shared/waiters';

export class MemoryRendezvous extends Rendezvous {
  private readonly waiters = new Waiters();
  private readonly early = new Map<string, { json: string; expiresAt: number }>();
  private readonly sweeper = new Sweeper();

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
    this.sweeper.sweep(this.early, (kept, now) => kept.expiresAt <= now);
    this.early.set(key, { json, expiresAt: Date.now() + this.ttlMs });
    this.waiters.resolveAll(key, JSON.parse(json));
  }

  close(): void {
    this.waiters.clear();
  }
}
