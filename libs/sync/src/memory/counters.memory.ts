import { Counters, TakeResult } from '../sync.ports';

export class MemoryCounters extends Counters {
  private readonly windows = new Map<string, { value: number; resetAt: number }>();

  async incr(key: string, by: number, windowMs: number): Promise<number> {
    const window = this.window(key, windowMs);
    window.value += by;
    return window.value;
  }

  async take(key: string, limit: number, windowMs: number, cost = 1): Promise<TakeResult> {
    const window = this.window(key, windowMs);
    const allowed = window.value + cost <= limit;
    if (allowed) window.value += cost;
    return { allowed, remaining: Math.max(0, limit - window.value), resetMs: window.resetAt - Date.now() };
  }

  private window(key: string, windowMs: number) {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { value: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    return window;
  }
}
