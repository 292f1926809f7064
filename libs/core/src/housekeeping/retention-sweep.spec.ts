import { Logger } from '@nestjs/common';
import { until } from '../../../../test/support/wait';
import { RETENTION_BATCH, RetentionSweep, type RetentionJob } from './retention-sweep';

const QUICK = { firstMs: 10, intervalMs: 20 };

/** A job that answers each batch from `batches` in turn (a number deleted, or an error thrown), then 0. */
function jobOf(batches: (number | Error)[], days = 30) {
  const calls: { days: number; limit: number }[] = [];
  const job: RetentionJob = {
    what: 'test rows',
    days,
    async deleteBatch(days, limit) {
      calls.push({ days, limit });
      const next = batches.shift() ?? 0;
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { job, calls };
}

/** Polls often: the timings here are tens of milliseconds. */
const soon = (what: string, done: () => boolean) => until(what, done, 2_000, 2);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RetentionSweep', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('deletes in bounded batches until one comes back short, and says how many in all', async () => {
    const { job, calls } = jobOf([RETENTION_BATCH, RETENTION_BATCH, 12]);
    expect(await new RetentionSweep(job, QUICK).sweep()).toBe(2 * RETENTION_BATCH + 12);
    expect(calls).toEqual([1, 2, 3].map(() => ({ days: 30, limit: RETENTION_BATCH })));
  });

  it('looks a little after boot, then again after each interval, until it shuts down', async () => {
    const { job, calls } = jobOf([]);
    const sweep = new RetentionSweep(job, QUICK);
    sweep.onApplicationBootstrap();
    await soon('three looks', () => calls.length >= 3);
    await sweep.beforeApplicationShutdown();
    const looks = calls.length;
    await sleep(5 * QUICK.intervalMs);
    expect(calls).toHaveLength(looks);
  });

  it('looks again at the next interval after a look that failed', async () => {
    const { job, calls } = jobOf([new Error('connection refused')]);
    const sweep = new RetentionSweep(job, QUICK);
    sweep.onApplicationBootstrap();
    await soon('a look after the failed one', () => calls.length >= 2);
    await sweep.beforeApplicationShutdown();
  });

  it('never looks when the retention is 0 days (keep every row)', async () => {
    const { job, calls } = jobOf([], 0);
    const sweep = new RetentionSweep(job, QUICK);
    sweep.onApplicationBootstrap();
    await sleep(2 * QUICK.firstMs + 3 * QUICK.intervalMs);
    await sweep.beforeApplicationShutdown();
    expect(calls).toHaveLength(0);
  });

  it('waits at shutdown for the batch in flight, and starts no other', async () => {
    let finishBatch!: () => void;
    let batches = 0;
    const job: RetentionJob = {
      what: 'test rows',
      days: 30,
      // The first batch is full and waits to be let go; any after it would come back empty at once.
      deleteBatch: () => {
        batches++;
        return batches > 1 ? Promise.resolve(0) : new Promise<number>((resolve) => (finishBatch = () => resolve(RETENTION_BATCH)));
      },
    };
    const sweep = new RetentionSweep(job, QUICK);
    sweep.onApplicationBootstrap();
    await soon('the first batch', () => batches === 1);
    let shutDown = false;
    const shutting = sweep.beforeApplicationShutdown().then(() => (shutDown = true));
    await sleep(QUICK.intervalMs);
    expect(shutDown).toBe(false);
    finishBatch();
    await shutting;
    await sleep(3 * QUICK.intervalMs);
    // A full batch would be followed by another; shutting down ended the pass after it.
    expect(batches).toBe(1);
  });
});
