import { Module } from '@nestjs/common';
import { SessionLeases } from './session-leases';

/** Session ownership: leases on session rows. Needs AppConfig and the TypeORM DataSource from the root. */
@Module({ providers: [SessionLeases], exports: [SessionLeases] })
export class RegistryModule {}
