import { until } from '../../../test/support/wait';
import type { DeliveryOutcome, WebhookOutbox } from './webhook-outbox';
import { OutcomeWriter, type PendingOutcome } from './webhook-outcomes';
import type { WebhookMetrics } from './webhook.metrics';

const outcome = (id: string, status: DeliveryOutcome['status'] = 'delivered'): PendingOutcome => ({
  id,
  attempts: 1,
  subscriptionId: 'sub',
  status,
  delayMs: status === 'pending' ? 500 : 0,
  lastStatus: status === 'delivered' ? 200 : 500,
  lastError: null,
});

/** An outbox whose writes fail `failures` times, then write every outcome they are given. */
function flakyOutbox(failures: number) {
  const writes: string[][] = [];
  const outbox = {
    async record(outcomes: readonly DeliveryOutcome[]): Promise<Set<string>> {
      writes.push(outcomes.map((o) => o.id));
      if (writes.length <= failures) throw new Error(`write ${writes.length} refused`);
      return new Set(outcomes.map((o) => o.id));
    },
    async disableSubscriptions(): Promise<void> {},
  };
  return { outbox: outbox as unknown as WebhookOutbox, writes };
}

function writerOn(outbox: WebhookOutbox, rewriteDelaysMs = [5, 5, 5]) {
  const recorded: string[] = [];
  const retries: number[] = [];
  const metrics = { recorded: (status: string) => recorded.push(status) } as unknown as WebhookMetrics;
  const writer = new OutcomeWriter(outbox, metrics, (delayMs) => retries.push(delayMs), rewriteDelaysMs);
  return { writer, recorded, retries };
}

/** Polls often: the writer's delays here are 5 ms. */
const soon = (what: string, done: () => boolean) => until(what, done, 5_000, 1);

describe('the webhook outcome writer', () => {
  it('writes a batch again when a write fails, so the claims do not lapse into a second delivery', async () => {
    const { outbox, writes } = flakyOutbox(2);
    const { writer, recorded, retries } = writerOn(outbox);

    writer.push(outcome('a'));
    writer.push(outcome('b', 'pending'));
    await soon('both outcomes recorded', () => recorded.length === 2);
    await writer.finish();

    expect(writes).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(recorded).toEqual(['delivered', 'pending']);
    expect(retries).toEqual([500]);
  });

  it('gives up on a batch after its last try, and goes on with the outcomes that came meanwhile', async () => {
    const { outbox, writes } = flakyOutbox(4);
    const { writer, recorded } = writerOn(outbox);

    writer.push(outcome('a'));
    await soon('the first write', () => writes.length === 1);
    // Pushed while the first batch is being tried: written in the next one.
    writer.push(outcome('c'));
    await soon('the outcome recorded', () => recorded.length === 1);
    await writer.finish();

    expect(writes).toEqual([['a'], ['a'], ['a'], ['a'], ['c']]);
    expect(recorded).toEqual(['delivered']);
  });

  it('tries a write only once while shutting down, so the waits between tries do not hold the shutdown up', async () => {
    const { outbox, writes } = flakyOutbox(Infinity);
    const { writer, recorded } = writerOn(outbox, [60_000]);

    writer.push(outcome('a'));
    await writer.finish();

    expect(writes).toEqual([['a']]);
    expect(recorded).toEqual([]);
  });
});
