import { Module } from '@nestjs/common';
import { SessionLeaseMetrics } from './session-leases.metrics';
import { SessionLeases } from './session-leases';

/** Session ownership: leases on session rows. Needs AppConfig, the TypeORM DataSource and the metrics Registry from the root. */
@Module({ providers: [SessionLeases, SessionLeaseMetrics], exports: [SessionLeases] })
export class RegistryModule {}
