/** Rejects with `onTimeout()` when `work` has not settled within `timeoutMs`. */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), timeoutMs))),
  ]);
}
