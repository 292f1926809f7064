import { msToNextUtcMidnight, parseDay, quotaWindowMs, QUOTA_MARGIN_MS, rateLimitHeaders, retryAfterSeconds, secondsUntil, utcDay } from './limit-headers';

describe('limit headers and windows', () => {
  it('rounds the reset up to whole seconds and never below 0; Retry-After is at least 1', () => {
    expect(secondsUntil(0)).toBe(0);
    expect(secondsUntil(1)).toBe(1);
    expect(secondsUntil(1000)).toBe(1);
    expect(secondsUntil(1001)).toBe(2);
    expect(secondsUntil(-5)).toBe(0);
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(59_001)).toBe(60);
  });

  it('says limit, remaining (never negative) and reset in seconds', () => {
    expect(rateLimitHeaders({ limit: 5, remaining: 2, resetMs: 4100 })).toEqual({ 'RateLimit-Limit': '5', 'RateLimit-Remaining': '2', 'RateLimit-Reset': '5' });
    expect(rateLimitHeaders({ limit: 5, remaining: -1, resetMs: 999 })).toEqual({ 'RateLimit-Limit': '5', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1' });
  });

  it('counts days in UTC and the time to the next UTC midnight', () => {
    const lateEvening = Date.UTC(2026, 10, 22, 23, 59, 59, 500);
    expect(utcDay(lateEvening)).toBe('2026-11-22');
    expect(msToNextUtcMidnight(lateEvening)).toBe(500);
    expect(msToNextUtcMidnight(Date.UTC(2026, 10, 23))).toBe(86_400_000);
    expect(msToNextUtcMidnight(Date.UTC(2026, 11, 31, 12))).toBe(12 * 3_600_000);
    expect(quotaWindowMs(lateEvening)).toBe(500 + QUOTA_MARGIN_MS);
  });

  it('gives each instant its own day, also when asked about days out of order', () => {
    const midnight = Date.UTC(2026, 10, 23);
    const asked = [midnight - 1, midnight, midnight - 1, midnight + 86_399_999, midnight + 86_400_000, Date.UTC(1969, 11, 31, 23), midnight];
    expect(asked.map(utcDay)).toEqual(['2026-11-22', '2026-11-23', '2026-11-22', '2026-11-23', '2026-11-24', '1969-12-31', '2026-11-23']);
  });

  it('reads only real calendar days', () => {
    expect(parseDay('2026-11-22')).toBe(Date.UTC(2026, 10, 22));
    expect(parseDay('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    for (const bad of ['2026-02-30', '2026-13-01', '2026-1-01', '26-11-22', '2026-11-22T00:00:00Z', '']) expect(parseDay(bad)).toBeUndefined();
  });
});
