export { RegistryModule } from './registry.module';
export { SessionLeases } from './session-leases';
export type { LeaseLoss } from './session-leases';
