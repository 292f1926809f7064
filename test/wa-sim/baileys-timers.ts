import { UPLOAD_TIMEOUT } from 'baileys';

type SetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => unknown;

/**
 * Baileys rc14 races every pre-key upload against a `setTimeout(UPLOAD_TIMEOUT)` it never clears
 * (`uploadPreKeys` in lib/Socket/socket.js), so after a login the timer outlives `end()` and jest
 * waits 30 s before it can exit. Unref'ing timers of exactly that length lets the process exit while
 * leaving every other timer (and Baileys' behaviour while the test runs) as it is.
 * @returns a function that restores the original `setTimeout`
 */
export function unrefPreKeyUploadTimers(): () => void {
  const scope = globalThis as unknown as { setTimeout: SetTimeout };
  const original = scope.setTimeout;
  scope.setTimeout = (callback, ms, ...args) => {
    const timer = original(callback, ms, ...args);
    if (ms === UPLOAD_TIMEOUT) (timer as NodeJS.Timeout).unref();
    return timer;
  };
  return () => {
    scope.setTimeout = original;
  };
}
