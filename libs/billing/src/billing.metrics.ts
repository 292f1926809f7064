import { Counter, Registry } from 'prom-client';

export type LimitKind = 'requests' | 'messages';

/** What the limits refused, and what they let through or refused because Redis could not be asked. */
export class BillingMetrics {
  readonly limited: Counter<'kind'>;
  readonly unavailable: Counter<'kind' | 'outcome'>;
  readonly usageFlushFailures: Counter;

  constructor(registry: Registry) {
    this.limited = new Counter({
      name: 'wafleet_rate_limited_requests_total',
      help: 'Requests refused with 429 by a plan limit, by kind (requests per minute, messages per day).',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.unavailable = new Counter({
      name: 'wafleet_limiter_unavailable_total',
      help: 'Limit checks that could not reach the coordination backend, by kind and outcome (allowed: failed open; refused: failed closed).',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    this.usageFlushFailures = new Counter({
      name: 'wafleet_usage_flush_failures_total',
      help: 'Writes of counted API calls to usage_daily that failed; the counts are kept and written with the next flush.',
      registers: [registry],
    });
  }
}
