/** Where a tenant stands against one limit after a request counted (or was refused). */
export interface LimitState {
  limit: number;
  remaining: number;
  /** Milliseconds until the limit's window starts over. */
  resetMs: number;
}

/** Seconds, rounded up, never negative: what `RateLimit-Reset` says. */
export const secondsUntil = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

/** `Retry-After` in whole seconds, at least 1: a 0 would invite an immediate retry into the same window. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, secondsUntil(ms));

/** The `RateLimit-*` headers (IETF draft, the form the API conventions name) for one limit. */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  return {
    'RateLimit-Limit': String(state.limit),
    'RateLimit-Remaining': String(Math.max(0, state.remaining)),
    'RateLimit-Reset': String(secondsUntil(state.resetMs)),
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The last day utcDay formatted: every request asks for today's, so it is formatted once a day. */
let lastDay = { start: 0, end: 0, text: '' };

/** The UTC calendar day of `at`, as `YYYY-MM-DD`. */
export function utcDay(at: number): string {
  if (at >= lastDay.start && at < lastDay.end) return lastDay.text;
  const start = Math.floor(at / DAY_MS) * DAY_MS;
  const text = new Date(at).toISOString().slice(0, 10);
  lastDay = { start, end: start + DAY_MS, text };
  return text;
}

/** Milliseconds from `at` to the next UTC midnight (a full day when `at` is midnight itself). */
export function msToNextUtcMidnight(at: number): number {
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1) - at;
}

/**
 * How long a day's quota counter lives: to the end of its UTC day plus a margin, so a replica whose clock
 * runs a little behind still finds the day's count rather than a fresh one.
 */
export const QUOTA_MARGIN_MS = 60 * 60 * 1000;

export const quotaWindowMs = (at: number): number => msToNextUtcMidnight(at) + QUOTA_MARGIN_MS;

/** Parses `YYYY-MM-DD` as a real calendar date (no 2026-02-30); undefined otherwise. */
export function parseDay(raw: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const at = Date.UTC(year, month - 1, day);
  return utcDay(at) === raw ? at : undefined;
}
