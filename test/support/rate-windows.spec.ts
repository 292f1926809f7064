import { remainingOf, windowsOf, type Shot } from './rate-windows';

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
