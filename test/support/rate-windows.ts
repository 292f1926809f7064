import { performance } from 'node:perf_hooks';

/** One request of an overload run: when it left, when its answer came, and the answer. */
export interface Shot {
  sentAt: number;
  doneAt: number;
  status: number;
  headers: Headers;
  body: any;
}

/** The accepted answers of one request-limit window, and how many requests surely reached the limiter inside it. */
export interface RateWindow {
  accepted: Shot[];
  /** Requests whose whole round trip lies inside the window's surely-open span: a lower bound of its load. */
  offered: number;
  /** Whether the load ran for the whole window. */
  full: boolean;
}

const TICK_MS = 10;

/**
 * Fires GET `path` with `key` at `perSecond` requests a second for `durationMs`, open loop: each tick sends
 * its share without waiting for earlier answers, so a slow answer never slows the load down.
 */
export async function overload(baseUrl: string, path: string, key: string, perSecond: number, durationMs: number): Promise<Shot[]> {
  const pending: Promise<Shot>[] = [];
  const start = performance.now();
  for (let tick = 0; tick * TICK_MS < durationMs; tick++) {
    const due = Math.round(((tick + 1) * TICK_MS * perSecond) / 1000) - Math.round((tick * TICK_MS * perSecond) / 1000);
    for (let i = 0; i < due; i++) pending.push(shoot(`${baseUrl}${path}`, key));
    const next = start + (tick + 1) * TICK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  }
  return Promise.all(pending);
}

async function shoot(url: string, key: string): Promise<Shot> {
  const sentAt = performance.now();
  const response = await fetch(url, { headers: { 'x-api-key': key } });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return { sentAt, doneAt: performance.now(), status: response.status, headers: response.headers, body: text && json ? JSON.parse(text) : text };
}

/**
 * Groups the accepted answers of an overload run by the limiter window that accepted them. A window
 * starts at its first counted request and, at 10× overload, is used up within its first tenth: the
 * accepted answers of one window come in one burst, and the next burst is most of a window later. So
 * a gap of more than half a window between two accepted requests (by send time) is a window boundary.
 *
 * The window that accepted a burst opened with the request answered `RateLimit-Remaining: limit - 1`
 * (the opener) somewhere between its send and its answer, and every request that reached the limiter
 * before the next window's opener did was counted in it: the first one after the window expires opens
 * the next. So every request sent after this opener's answer and answered before the next opener was
 * sent (or, for the last window, before this opener's send time + `windowMs`) surely reached the limiter
 * inside this window. Their count is `offered`, a lower bound of the window's real load.
 */
export function windowsOf(shots: Shot[], limit: number, windowMs: number): RateWindow[] {
  const accepted = shots.filter((shot) => shot.status === 200).sort((a, b) => a.sentAt - b.sentAt);
  const bursts: Shot[][] = [];
  for (const shot of accepted) {
    const last = bursts.at(-1);
    if (last && shot.sentAt - last.at(-1)!.sentAt <= windowMs / 2) last.push(shot);
    else bursts.push([shot]);
  }
  const openerOf = (burst: Shot[]) => burst.find((shot) => shot.headers.get('ratelimit-remaining') === String(limit - 1)) ?? burst[0]!;
  const loadEnd = Math.max(...shots.map((shot) => shot.sentAt));
  return bursts.map((burst, i) => {
    const opener = openerOf(burst);
    const next = bursts[i + 1];
    const from = opener.doneAt;
    const to = next ? openerOf(next).sentAt : opener.sentAt + windowMs;
    const offered = shots.filter((shot) => shot.sentAt >= from && shot.doneAt <= to).length;
    return { accepted: burst, offered, full: opener.sentAt + windowMs <= loadEnd };
  });
}

/** What the limiter's own answers say of an overload run (see `limiterCounts`). */
export interface LimiterCounts {
  /** Windows opened: accepted answers with `RateLimit-Remaining: limit - 1`. */
  openers: number;
  /** How many accepted answers carried each remaining value, 0 … limit − 1. */
  byRemaining: number[];
  /** Accepted answers whose remaining value is missing or outside 0 … limit − 1. */
  unexpected: number;
  /** Pairs of openers that cannot have been a window apart. */
  openersTooClose: number;
}

/**
 * The limiter's counts, which need no grouping of answers by time: a window hands its accepted requests
 * the remaining values limit − 1 … 0 once each, and opens (with limit − 1) at least `windowMs` after the
 * one before. So every value appears at most once per opener, and, under overload, once per opener but
 * in the last window, which the load may leave early; a counter letting a window overshoot repeats a
 * value, and a second counter opens windows closer together. Each opener was counted somewhere between
 * its send and its answer, so two openers are surely too close when neither's answer came `windowMs`
 * after the other's send. (windowsOf groups by send time, and merges two windows when a request sent
 * late in one waits long enough to be accepted by the next.)
 */
export function limiterCounts(shots: Shot[], limit: number, windowMs: number): LimiterCounts {
  const byRemaining = Array.from({ length: limit }, () => 0);
  const openers: Shot[] = [];
  let unexpected = 0;
  for (const shot of shots.filter((candidate) => candidate.status === 200)) {
    const remaining = Number(shot.headers.get('ratelimit-remaining') ?? NaN);
    if (!Number.isInteger(remaining) || remaining < 0 || remaining >= limit) unexpected++;
    else byRemaining[remaining]!++;
    if (remaining === limit - 1) openers.push(shot);
  }
  let openersTooClose = 0;
  for (const [i, a] of openers.entries()) {
    for (const b of openers.slice(i + 1)) if (b.doneAt - a.sentAt < windowMs && a.doneAt - b.sentAt < windowMs) openersTooClose++;
  }
  return { openers: openers.length, byRemaining, unexpected, openersTooClose };
}

/** `RateLimit-Remaining` of each accepted answer, in ascending order. */
export const remainingOf = (burst: Shot[]): number[] => burst.map((shot) => Number(shot.headers.get('ratelimit-remaining'))).sort((a, b) => a - b);

/** Counts answers by status. */
export const tally = (shots: { status: number }[]): Record<number, number> =>
  shots.reduce<Record<number, number>>((counts, shot) => ({ ...counts, [shot.status]: (counts[shot.status] ?? 0) + 1 }), {});
