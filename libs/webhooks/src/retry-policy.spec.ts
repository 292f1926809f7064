import { decide, MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-policy';

const SCHEDULE = [5_000, 300_000, 1_800_000];
const middle = () => 0.5;

describe('the retry policy', () => {
  it('delivers on any 2xx and disables on 410, whatever the attempt', () => {
    expect(decide({ status: 200 }, 1, SCHEDULE)).toEqual({ status: 'delivered' });
    expect(decide({ status: 204 }, 4, SCHEDULE)).toEqual({ status: 'delivered' });
    expect(decide({ status: 410 }, 1, SCHEDULE)).toEqual({ status: 'disabled' });
  });

  it('retries failures on the schedule, one wait per attempt, then dead-letters', () => {
    expect(decide({ status: 500 }, 1, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 5_000 });
    expect(decide({ error: 'timeout' }, 2, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 300_000 });
    expect(decide({ status: 302 }, 3, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 1_800_000 });
    expect(decide({ status: 500 }, 4, SCHEDULE, middle)).toEqual({ status: 'dead' });
  });

  it('jitters scheduled waits by at most 10 %', () => {
    expect(decide({ status: 500 }, 1, SCHEDULE, () => 0)).toEqual({ status: 'pending', delayMs: 4_500 });
    expect(decide({ status: 500 }, 1, SCHEDULE, () => 0.999999)).toEqual({ status: 'pending', delayMs: 5_500 });
  });

  it("honours a 429 or 503's Retry-After, capped, and uses the schedule without one or for other statuses", () => {
    expect(decide({ status: 429, retryAfterMs: 7_000 }, 1, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 7_000 });
    expect(decide({ status: 503, retryAfterMs: 10 * MAX_RETRY_AFTER_MS }, 1, SCHEDULE)).toEqual({ status: 'pending', delayMs: MAX_RETRY_AFTER_MS });
    expect(decide({ status: 429 }, 1, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 5_000 });
    expect(decide({ status: 500, retryAfterMs: 7_000 }, 1, SCHEDULE, middle)).toEqual({ status: 'pending', delayMs: 5_000 });
    expect(decide({ status: 429, retryAfterMs: 7_000 }, 4, SCHEDULE)).toEqual({ status: 'dead' });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-22T21:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 21:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 20:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
