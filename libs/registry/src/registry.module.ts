import { Module } from '@nestjs/common';
import { SessionLeaseMetrics } from './session-leases.metrics';
import { SessionLeases } from './session-leases';
import { SessionPlacement } from './session-placement';

/**
 * Session ownership: leases on session rows, their metrics, and placement. Needs AppConfig, the TypeORM
 * DataSource, the metrics Registry and the global SyncModule from the root.
 */
@Module({ providers: [SessionLeases, SessionLeaseMetrics, SessionPlacement], exports: [SessionLeases, SessionPlacement] })
export class RegistryModule {}
