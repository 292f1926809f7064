export { RegistryModule } from './registry.module';
export { SessionLeases } from './session-leases';
export type { LeaseLoss } from './session-leases';
export { SessionPlacement } from './session-placement';
export { preferredOwner, rendezvousScore, shouldHandOver } from './placement';
export type { PlacementCandidate } from './placement';
export { SessionLeaseMetrics } from './session-leases.metrics';
export { HANDOFF_REASONS, HANDOFFS_KEPT_PER_SESSION } from './session-handoffs';
export type { HandoffReason } from './session-handoffs';
