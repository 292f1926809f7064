export { RegistryModule } from './registry.module';
export { SessionLeases } from './session-leases';
export type { LeaseLoss } from './session-leases';
export { SessionLeaseMetrics } from './session-leases.metrics';
export { HANDOFF_REASONS, HANDOFFS_KEPT_PER_SESSION } from './session-handoffs';
export type { HandoffReason } from './session-handoffs';
