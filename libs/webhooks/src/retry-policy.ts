/** What an attempt came to, as the worker saw it. */
export interface AttemptResult {
  /** The endpoint's HTTP status; undefined when no answer came (timeout, connection error, refused target). */
  status?: number;
  /** Why it failed, short, for `last_error`; undefined on success. */
  error?: string;
  /** A 429 or 503's `Retry-After`, in milliseconds from now. */
  retryAfterMs?: number;
}

/** Where a delivery goes after an attempt; `delayMs` only with `pending`. */
export type Decision =
  | { status: 'delivered' }
  | { status: 'disabled' }
  | { status: 'dead' }
  | { status: 'pending'; delayMs: number };

/** The longest wait a `Retry-After` may ask for. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
/** Each scheduled wait is stretched or shrunk by up to this share, so failed deliveries do not retry in lockstep. */
export const JITTER = 0.1;

/**
 * After attempt number `attempts` (1 for the first): 2xx delivered; 410 Gone disables the subscription;
 * anything else is retried after the schedule's wait for that attempt (a 429 or 503 after its
 * `Retry-After`, capped at 24 h, when it gave one), and dead-lettered once the schedule is used up, so a
 * delivery gets `schedule.length + 1` attempts at most.
 */
export function decide(result: AttemptResult, attempts: number, scheduleMs: readonly number[], random: () => number = Math.random): Decision {
  const status = result.status;
  if (status !== undefined && status >= 200 && status < 300) return { status: 'delivered' };
  if (status === 410) return { status: 'disabled' };
  if (attempts > scheduleMs.length) return { status: 'dead' };
  if ((status === 429 || status === 503) && result.retryAfterMs !== undefined) {
    return { status: 'pending', delayMs: Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS) };
  }
  const wait = scheduleMs[Math.max(0, attempts - 1)]!;
  return { status: 'pending', delayMs: Math.round(wait * (1 - JITTER + 2 * JITTER * random())) };
}

/**
 * A `Retry-After` value in milliseconds from `now`: delay-seconds or an HTTP date (a past date is 0).
 * Undefined when absent or unreadable, so the schedule applies.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const raw = value?.trim();
  if (!raw) return undefined;
  if (/^\d+$/.test(raw)) return Math.min(Number(raw) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
