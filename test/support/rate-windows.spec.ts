import { limiterCounts, remainingOf, windowsOf, type Shot } from './rate-windows';

const LIMIT = 3;
const WINDOW_MS = 1000;

/** A shot sent at `sentAt`, answered 5 ms later, with `remaining` when accepted. */
const shot = (sentAt: number, status: number, remaining = 0): Shot => ({
  sentAt,
  doneAt: sentAt + 5,
  status,
  headers: new Headers({ 'ratelimit-remaining': String(remaining) }),
  body: undefined,
});

/** One window of load: LIMIT accepted at its start (or `accepted` of them), then refusals every 10 ms. */
function window(start: number, accepted = LIMIT): Shot[] {
  const served = Array.from({ length: accepted }, (_, i) => shot(start + i, 200, Math.max(0, LIMIT - 1 - i)));
  const refused = Array.from({ length: (WINDOW_MS - 20) / 10 }, (_, i) => shot(start + 10 + i * 10, 429));
  return [...served, ...refused];
}

describe('windowsOf', () => {
  it('splits accepted answers into one burst per window and bounds each window’s load', () => {
    const shots = [...window(0), ...window(1000), ...window(2000)];
    const windows = windowsOf(shots, LIMIT, WINDOW_MS);
    expect(windows.map((w) => w.accepted.length)).toEqual([3, 3, 3]);
    expect(windows.map((w) => remainingOf(w.accepted))).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    // The 98 refusals between the opener's answer (5 ms) and the next opener's send (1000 ms); the two
    // accepted right behind the opener left before its answer, so they are not surely inside.
    expect(windows[0]!.offered).toBe(98);
    expect(windows.map((w) => w.full)).toEqual([true, true, false]);
  });

  it('shows an overshoot: a second counter accepting the same window repeats the remaining values', () => {
    const overshot = [...window(0), ...window(2, LIMIT), ...window(1000)];
    const [first] = windowsOf(overshot, LIMIT, WINDOW_MS);
    expect(first!.accepted).toHaveLength(6);
    expect(remainingOf(first!.accepted)).toEqual([0, 0, 1, 1, 2, 2]);
  });
});

describe('limiterCounts', () => {
  it('counts one opener per window and each remaining value once per window', () => {
    const shots = [...window(0), ...window(1000), ...window(2000, 2)];
    expect(limiterCounts(shots, LIMIT, WINDOW_MS)).toEqual({ openers: 3, byRemaining: [2, 3, 3], unexpected: 0, openersTooClose: 0 });
  });

  it('shows a second counter (openers too close) and a window that overshot (a value repeated)', () => {
    expect(limiterCounts([...window(0), ...window(2), ...window(1000)], LIMIT, WINDOW_MS)).toMatchObject({ openers: 3, openersTooClose: 1 });
    const overshot = [...window(0), shot(6, 200, 0), ...window(1000)];
    expect(limiterCounts(overshot, LIMIT, WINDOW_MS)).toMatchObject({ openers: 2, byRemaining: [3, 2, 2], openersTooClose: 0 });
  });

  it('is not fooled by a request that waited: sent late in one window, it opened the next', () => {
    // Sent at 400, held in a replica until 1000, where it opened the second window; the rest of that window came at once.
    const held: Shot = { ...shot(400, 200, LIMIT - 1), doneAt: 1003 };
    const shots = [...window(0), held, ...window(1001).filter((s) => s.status !== 200 || Number(s.headers.get('ratelimit-remaining')) < LIMIT - 1)];
    // Grouped by send time, the first window looks as if it accepted one too many.
    expect(windowsOf(shots, LIMIT, WINDOW_MS)[0]!.accepted).toHaveLength(LIMIT + 1);
    expect(limiterCounts(shots, LIMIT, WINDOW_MS)).toEqual({ openers: 2, byRemaining: [2, 2, 2], unexpected: 0, openersTooClose: 0 });
  });
});
