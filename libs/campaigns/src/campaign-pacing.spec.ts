import { paceDelayMs } from './campaign-pacing';

describe('campaign pacing', () => {
  it('spaces messages 60000 / perMinute apart without jitter', () => {
    expect(paceDelayMs(60, 0, 0.9)).toBe(1000);
    expect(paceDelayMs(6000, 0, 0.1)).toBe(10);
    expect(paceDelayMs(7, 0)).toBe(8571);
  });

  it('moves the delay by at most jitterPercent either way, the whole range reachable', () => {
    expect(paceDelayMs(60, 20, 0)).toBe(800);
    expect(paceDelayMs(60, 20, 0.5)).toBe(1000);
    expect(paceDelayMs(60, 20, 0.999999)).toBe(1200);
    for (let i = 0; i < 200; i++) {
      const delay = paceDelayMs(120, 50);
      expect(delay).toBeGreaterThanOrEqual(250);
      expect(delay).toBeLessThanOrEqual(750);
    }
  });

  it('never waits a negative time, even at 100 % jitter', () => {
    expect(paceDelayMs(60, 100, 0)).toBe(0);
  });
});
