/**
 * Drops expired entries from a map at most once a second, so maps of short-lived keys (per-run locks,
 * per-message rendezvous) stay bounded without a timer per key.
 */
export class Sweeper {
  private sweptAt = 0;

  constructor(private readonly everyMs = 1000) {}

  sweep<V>(map: Map<string, V>, expired: (value: V, now: number) => boolean): void {
    const now = Date.now();
    if (now - this.sweptAt < this.everyMs) return;
    this.sweptAt = now;
    for (const [key, value] of map) if (expired(value, now)) map.delete(key);
  }
}
