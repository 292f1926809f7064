import { Logger } from '@nestjs/common';
import type { DeliveryOutcome, WebhookOutbox } from './webhook-outbox';
import type { WebhookMetrics } from './webhook.metrics';

/** An outcome to write, with the subscription it concerns (a 410 turns that subscription off). */
export interface PendingOutcome extends DeliveryOutcome {
  subscriptionId: string;
}

export const GONE_REASON = 'the endpoint answered 410 Gone';
/** How long a small batch of outcomes waits for more before it is written, and what counts as small. */
const GATHER_MS = 5;
const GATHER_UP_TO = 16;
/**
 * Waits before each new try of a write that failed. Together well inside the claim's lease (the attempt's
 * timeout + 15 s), so a write that fails for a moment (a connection the database refused, say) does not
 * let the claims lapse and the receiver get the deliveries again.
 */
const REWRITE_DELAYS_MS: readonly number[] = [250, 1_000, 3_000];

/**
 * Writes attempt outcomes in batches: whatever finished while the previous write was under way goes in
 * the next one, and a small batch waits GATHER_MS for company, so under load there is one UPDATE per
 * batch rather than per delivery, and when idle an outcome is written within a few milliseconds. A
 * failed write is tried again (twice is harmless: it applies only to this instance's claim at that
 * attempt), then logged and dropped: its rows are still claimed, so they come back when the lease ends
 * (the attempt repeats; the webhook-id stays the same).
 */
export class OutcomeWriter {
  private readonly logger = new Logger('WebhookOutcomes');
  private queue: PendingOutcome[] = [];
  private writing?: Promise<void>;
  /** Shutting down: a failed write is not tried again, so the shutdown is not held up by the waits. */
  private finishing = false;

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly metrics: WebhookMetrics,
    /** Told of each retry written, with its delay, so the worker wakes when it is due. */
    private readonly retryScheduled: (delayMs: number) => void,
    private readonly rewriteDelaysMs: readonly number[] = REWRITE_DELAYS_MS,
  ) {}

  push(outcome: PendingOutcome): void {
    this.queue.push(outcome);
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
  }

  /** For shutdown: resolves once everything pushed so far is written, or dropped after one failed try. */
  async finish(): Promise<void> {
    this.finishing = true;
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // A moment for the outcomes of the attempts finishing alongside to join: one write for them all.
      if (this.queue.length < GATHER_UP_TO) await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
      const batch = this.queue;
      this.queue = [];
      try {
        const written = await this.record(batch);
        const gone = new Set<string>();
        for (const outcome of batch) {
          if (!written.has(outcome.id)) continue;
          this.metrics.recorded(outcome.status);
          if (outcome.status === 'pending') this.retryScheduled(outcome.delayMs);
          if (outcome.status === 'disabled' && outcome.lastStatus === 410) gone.add(outcome.subscriptionId);
        }
        await this.outbox.disableSubscriptions([...gone], GONE_REASON);
      } catch (error) {
        this.logger.warn({ err: error, deliveries: batch.length }, 'writing webhook outcomes failed; those deliveries come back when their claim lapses');
      }
    }
  }

  private async record(batch: PendingOutcome[]): Promise<Set<string>> {
    for (let failures = 0; ; failures++) {
      try {
        return await this.outbox.record(batch);
      } catch (error) {
        const delayMs = this.rewriteDelaysMs[failures];
        if (delayMs === undefined || this.finishing) throw error;
        this.logger.warn({ err: error, deliveries: batch.length, delayMs }, 'writing webhook outcomes failed; writing them again');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}
