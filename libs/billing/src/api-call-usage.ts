import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { DataSource } from 'typeorm';
import { BillingMetrics } from './billing.metrics';
import { utcDay } from './limit-headers';

/**
 * API calls per tenant and UTC day, counted in memory on this replica and added to `usage_daily` every
 * USAGE_FLUSH_INTERVAL_MS and at shutdown: a row write per request would cost more than the request.
 * A failed write keeps its counts for the next one. What a replica killed without shutdown (kill -9,
 * out of memory) loses is what it counted since its last flush: at most USAGE_FLUSH_INTERVAL_MS of calls.
 */
@Injectable()
export class ApiCallUsage implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ApiCallUsage.name);
  /** `<tenantId> <day>` → calls not yet written. */
  private counted = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: BillingMetrics,
  ) {}

  count(tenantId: string, at = Date.now()): void {
    const key = `${tenantId} ${utcDay(at)}`;
    this.counted.set(key, (this.counted.get(key) ?? 0) + 1);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.billing.usageFlushIntervalMs);
    this.timer.unref();
  }

  /** Requests still in flight while the server drains are counted, and written by the last flush. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Writes what was counted; flushes run one at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (!this.counted.size) return;
    const batch = this.counted;
    this.counted = new Map();
    // Sorted, so two replicas flushing the same rows lock them in the same order.
    const entries = [...batch.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const tenants = entries.map(([key]) => key.split(' ')[0]);
    const days = entries.map(([key]) => key.split(' ')[1]);
    try {
      // Calls of a tenant deleted meanwhile are dropped by the join rather than failing the batch.
      await this.dataSource.query(
        `INSERT INTO usage_daily (tenant_id, day, api_calls)
         SELECT u.tenant_id, u.day, u.calls FROM unnest($1::uuid[], $2::date[], $3::bigint[]) AS u (tenant_id, day, calls)
         JOIN tenants t ON t.id = u.tenant_id
         ON CONFLICT (tenant_id, day) DO UPDATE SET api_calls = usage_daily.api_calls + EXCLUDED.api_calls`,
        [tenants, days, entries.map(([, calls]) => calls)],
      );
    } catch (error) {
      for (const [key, calls] of batch) this.counted.set(key, (this.counted.get(key) ?? 0) + calls);
      this.metrics.usageFlushFailures.inc();
      this.logger.warn({ err: error, rows: entries.length }, 'writing API call counts failed; they are kept for the next flush');
    }
  }
}
