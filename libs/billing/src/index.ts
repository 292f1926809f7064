export { BillingModule } from './billing.module';
export { Quotas } from './quotas.service';
export type { TakenMessage } from './quotas.service';
export type { Limits } from './plan-limits';
export type { LimitState } from './limit-headers';
export { countMessageUsage, countMessageUsageSql } from './usage-rows';
export type { MessageUsage } from './usage-rows';
export { PlanLimitReachedError, QuotaExceededError, QuotaUnavailableError, RateLimitedError } from './billing.errors';
export type { PlanLimitName } from './billing.errors';
