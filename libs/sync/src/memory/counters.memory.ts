import { Counters, TakeResult } from '../sync.ports';
import { Sweeper } from '../shared/sweeper';
import { wholeMs, wholeNumber } from '../shared/arguments';

export class MemoryCounters extends Counters {
  private readonly windows = new Map<string, { value: number; resetAt: number }>();
  private readonly sweeper = new Sweeper();

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    wholeNumber('by', by, 0);
    wholeMs('windowMs', windowMs);
    const window = this.window(key, windowMs);
    window.value += by;
    return window.value;
  }

  async take(key: string, limit: number, windowMs: number, cost = 1): Promise<TakeResult> {
    wholeNumber('limit', limit, 0);
    wholeMs('windowMs', windowMs);
    wholeNumber('cost', cost, 1);
    const window = this.window(key, windowMs);
    const allowed = window.value + cost <= limit;
    if (allowed) window.value += cost;
    return { allowed, remaining: Math.max(0, limit - window.value), resetMs: window.resetAt - Date.now() };
  }

  async giveBack(key: string, cost = 1): Promise<void> {
    wholeNumber('cost', cost, 1);
    const window = this.windows.get(key);
    if (window && window.resetAt > Date.now()) window.value = Math.max(0, window.value - cost);
  }

  private window(key: string, windowMs: number) {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      this.sweeper.sweep(this.windows, (old, at) => old.resetAt <= at);
      window = { value: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    return window;
  }
}
