/**
 * How long to wait after one campaign message before queueing the next: 60000 / perMinute, moved up or
 * down by up to `jitterPercent` of itself so the sends do not tick like a clock.
 * @param random a number in [0, 1), Math.random by default
 */
export function paceDelayMs(perMinute: number, jitterPercent: number, random: number = Math.random()): number {
  const base = 60_000 / perMinute;
  const jitter = (base * jitterPercent * (2 * random - 1)) / 100;
  return Math.max(0, Math.round(base + jitter));
}
