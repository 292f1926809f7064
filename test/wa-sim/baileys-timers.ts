import { DEFAULT_CONNECTION_CONFIG, UPLOAD_TIMEOUT } from 'baileys';

type SetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown;

/**
 * Baileys rc14 races every pre-key upload against a `setTimeout(UPLOAD_TIMEOUT)` it never clears
 * (`uploadPreKeys` in lib/Socket/socket.js), so after a login the timer outlives `end()` and jest
 * waits 30 s before it can exit. Unref'ing timers of exactly that length lets the process exit while
 * leaving every other timer (and Baileys' behaviour while the test runs) as it is.
 * @returns a function that restores the original `setTimeout`
 */
export function unrefPreKeyUploadTimers(): () => void {
  return unrefTimersOf([UPLOAD_TIMEOUT]);
}

/**
 * As {@link unrefPreKeyUploadTimers}, and also the query timeouts: `end()` does not settle a query still
 * waiting for its answer (the init queries a socket fires on login, when it is stopped right after), so its
 * `defaultQueryTimeoutMs` timer (60 s) outlives the socket too. The first QR's 60 s timer shares that length;
 * a registering socket is a live handle of its own, so unref'ing it changes nothing while the test runs.
 * @returns a function that restores the original `setTimeout`
 */
export function unrefBaileysTimers(): () => void {
  return unrefTimersOf([UPLOAD_TIMEOUT, DEFAULT_CONNECTION_CONFIG.defaultQueryTimeoutMs ?? 60_000]);
}

function unrefTimersOf(lengths: number[]): () => void {
  const scope = globalThis as unknown as { setTimeout: SetTimeout };
  const original = scope.setTimeout;
  scope.setTimeout = (callback, ms, ...args) => {
    const timer = original(callback, ms, ...args);
    if (ms !== undefined && lengths.includes(ms)) (timer as NodeJS.Timeout).unref();
    return timer;
  };
  return () => {
    scope.setTimeout = original;
  };
}
