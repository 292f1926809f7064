import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptResult } from './retry-policy';
import type { DeliveryOutcome } from './webhook-outbox';

/** How long the queue numbers read for one scrape are reused by the other gauge of that scrape. */
const STATS_REUSE_MS = 500;

/**
 * Webhook delivery: outcomes of attempts written by this instance, attempts by result (the histogram's
 * `_count`), and the queue as the database holds it (the same on every replica), read at scrape time.
 */
@Injectable()
export class WebhookMetrics {
  private readonly outcomes: Counter<'outcome'>;
  private readonly attempts: Histogram<'result'>;
  private queueStats: () => Promise<{ depth: number; oldestDueSeconds: number }> = async () => ({ depth: 0, oldestDueSeconds: 0 });
  private lastStats?: { at: number; value: Promise<{ depth: number; oldestDueSeconds: number }> };

  constructor(registry: Registry) {
    const registers = [registry];
    this.outcomes = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook attempts written back, by what became of the delivery: delivered, retry (scheduled again), dead (retries used up), disabled (410 or subscription off).',
      labelNames: ['outcome'],
      registers,
    });
    this.attempts = new Histogram({
      name: 'webhook_attempt_duration_seconds',
      help: 'Webhook requests by result (2xx, 3xx, 4xx, 5xx, error: timeout, connection or refused target); _count is the number of attempts.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers,
    });
    const stats = () => this.stats();
    new Gauge({
      name: 'webhook_queue_depth',
      help: 'Webhook deliveries pending or being attempted, across all replicas.',
      registers,
      async collect() {
        this.set((await stats()).depth);
      },
    });
    new Gauge({
      name: 'webhook_oldest_due_age_seconds',
      help: 'How long the longest-waiting due webhook delivery has been due (0: none is waiting).',
      registers,
      async collect() {
        this.set((await stats()).oldestDueSeconds);
      },
    });
    for (const outcome of ['delivered', 'retry', 'dead', 'disabled']) this.outcomes.inc({ outcome }, 0);
  }

  /** Where the queue gauges read their numbers at each scrape. */
  observeQueue(read: () => Promise<{ depth: number; oldestDueSeconds: number }>): void {
    this.queueStats = read;
  }

  attempted(result: AttemptResult, seconds: number): void {
    const status = result.status;
    this.attempts.observe({ result: status === undefined ? 'error' : `${Math.floor(status / 100)}xx` }, seconds);
  }

  recorded(status: DeliveryOutcome['status']): void {
    this.outcomes.inc({ outcome: status === 'pending' ? 'retry' : status });
  }

  private stats(): Promise<{ depth: number; oldestDueSeconds: number }> {
    const now = Date.now();
    if (!this.lastStats || now - this.lastStats.at > STATS_REUSE_MS) {
      this.lastStats = { at: now, value: this.queueStats().catch(() => ({ depth: Number.NaN, oldestDueSeconds: Number.NaN })) };
    }
    return this.lastStats.value;
  }
}
