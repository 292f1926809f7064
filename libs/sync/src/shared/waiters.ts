type Resolve = (value: unknown) => void;

/** Local waiters per key, shared by both Rendezvous bindings; each wait is resolved once. */
export class Waiters {
  private readonly byKey = new Map<string, Set<Resolve>>();

  /** Registers a waiter; resolves with undefined after `timeoutMs`. `cancel` removes it early. */
  add(key: string, timeoutMs: number): { promise: Promise<unknown>; resolve: Resolve } {
    let settle!: Resolve;
    const promise = new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      settle = (value) => {
        clearTimeout(timer);
        this.byKey.get(key)?.delete(settle);
        if (this.byKey.get(key)?.size === 0) this.byKey.delete(key);
        resolve(value);
      };
    });
    if (!this.byKey.has(key)) this.byKey.set(key, new Set());
    this.byKey.get(key)!.add(settle);
    return { promise, resolve: settle };
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  resolveAll(key: string, value: unknown): void {
    for (const settle of [...(this.byKey.get(key) ?? [])]) settle(value);
  }

  /** Resolves every waiter with undefined (shutdown). */
  clear(): void {
    for (const key of [...this.byKey.keys()]) this.resolveAll(key, undefined);
  }
}
