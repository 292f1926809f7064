import type { TakenMessage } from '@wafleet/billing';
import { queueUnder } from './campaign-quota';

/** A unit taken from a counter of `used`, which giveBack lowers again a turn later, as a Redis call would. */
function unitOf(counter: { used: number }): TakenMessage {
  counter.used++;
  return {
    state: null,
    giveBack: async () => {
      await new Promise(setImmediate);
      counter.used--;
    },
  };
}

describe('a campaign message queued under a quota unit', () => {
  it('spends the unit on a message queued', async () => {
    const counter = { used: 0 };
    expect(await queueUnder(unitOf(counter), async () => ({ outcome: 'queued' }))).toEqual({ outcome: 'queued' });
    expect(counter.used).toBe(1);
  });

  it.each(['busy', 'done', 'not_running', 'stale'])('gives the unit back when the answer is %s', async (outcome) => {
    const counter = { used: 0 };
    expect(await queueUnder(unitOf(counter), async () => ({ outcome }))).toEqual({ outcome });
    expect(counter.used).toBe(0);
  });

  it('gives the unit back when queueing throws, and passes the error on', async () => {
    const counter = { used: 0 };
    const failure = new Error('the database went away');
    await expect(queueUnder(unitOf(counter), async () => Promise.reject(failure))).rejects.toBe(failure);
    expect(counter.used).toBe(0);
  });
});
