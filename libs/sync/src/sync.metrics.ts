import { Counter, Gauge, Histogram, Registry } from 'prom-client';

type Labels = 'primitive' | 'op';

/**
 * Redis-backed operations: latency (whose `_count` is the operation count — a separate counter would
 * only double the per-call cost), failures, and whether coordination is degraded.
 */
export class SyncMetrics {
  readonly failures: Counter<Labels>;
  readonly duration: Histogram<Labels>;
  readonly degraded: Gauge;

  constructor(registry: Registry) {
    const labelNames = ['primitive', 'op'] as const;
    this.failures = new Counter({ name: 'sync_operation_failures_total', help: 'Sync operations that failed (Redis unreachable or slow).', labelNames, registers: [registry] });
    this.duration = new Histogram({
      name: 'sync_operation_duration_seconds',
      help: 'Latency of sync operations against Redis; _count is the number of operations.',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    this.degraded = new Gauge({ name: 'sync_degraded', help: '1 while Redis is unreachable, else 0.', registers: [registry] });
  }
}
