import type { AppConfig } from '@wafleet/config';
import { SyncUnavailableError, type Counters } from '@wafleet/sync';
import type { BillingMetrics } from './billing.metrics';
import { QuotaExceededError } from './billing.errors';
import type { PlanLimits } from './plan-limits';
import { Quotas } from './quotas.service';

/** Quotas over counters that record what they were asked, for a tenant whose plan allows `perDay`. */
function quotasWith(perDay: number | null, options: { giveBackFails?: boolean } = {}) {
  const counts = new Map<string, number>();
  const calls: string[] = [];
  const counters = {
    take: async (key: string, limit: number) => {
      calls.push(`take ${key}`);
      const allowed = (counts.get(key) ?? 0) < limit;
      if (allowed) counts.set(key, (counts.get(key) ?? 0) + 1);
      return { allowed, remaining: limit - (counts.get(key) ?? 0), resetMs: 1_000 };
    },
    giveBack: async (key: string) => {
      calls.push(`giveBack ${key}`);
      if (options.giveBackFails) throw new SyncUnavailableError('counters.giveBack');
      counts.set(key, Math.max(0, (counts.get(key) ?? 0) - 1));
    },
  } as unknown as Counters;
  const limits = { of: async () => ({ messagesPerDay: perDay, requestsPerMinute: null }) } as unknown as PlanLimits;
  const metrics = { limited: { inc: () => undefined }, unavailable: { inc: () => undefined } } as unknown as BillingMetrics;
  return { quotas: new Quotas(limits, counters, {} as AppConfig, metrics), calls, counts };
}

describe('Quotas.takeMessage and giveBack', () => {
  const realNow = Date.now;
  afterEach(() => (Date.now = realNow));

  it('gives a unit back so that another message may take it', async () => {
    const { quotas } = quotasWith(2);
    await quotas.takeMessage('t1');
    const second = await quotas.takeMessage('t1');
    expect(second.state).toMatchObject({ limit: 2, remaining: 0 });
    await expect(quotas.takeMessage('t1')).rejects.toBeInstanceOf(QuotaExceededError);
    await second.giveBack();
    await expect(quotas.takeMessage('t1')).resolves.toMatchObject({ state: { remaining: 0 } });
  });

  it('gives back to the UTC day the unit was taken from, also after midnight', async () => {
    Date.now = () => Date.parse('2026-11-23T23:59:59.900Z');
    const { quotas, calls, counts } = quotasWith(5);
    const lateYesterday = await quotas.takeMessage('t1');
    Date.now = () => Date.parse('2026-11-24T00:00:00.100Z');
    await quotas.takeMessage('t1');
    await lateYesterday.giveBack();
    expect(calls).toEqual(['take quota:t1:2026-11-23', 'take quota:t1:2026-11-24', 'giveBack quota:t1:2026-11-23']);
    expect(Object.fromEntries(counts)).toEqual({ 'quota:t1:2026-11-23': 0, 'quota:t1:2026-11-24': 1 });
  });

  it('takes nothing and gives nothing back for a plan without a daily quota', async () => {
    const { quotas, calls } = quotasWith(null);
    const taken = await quotas.takeMessage('t1');
    await taken.giveBack();
    expect(taken.state).toBeNull();
    expect(calls).toEqual([]);
  });

  it('resolves a give-back that cannot reach Redis: the unit stays spent, the send goes on', async () => {
    const { quotas, calls } = quotasWith(2, { giveBackFails: true });
    const taken = await quotas.takeMessage('t1');
    await expect(taken.giveBack()).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });
});
