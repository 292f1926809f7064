import { Module } from '@nestjs/common';
import { SessionLeases } from './session-leases';
import { SessionPlacement } from './session-placement';

/** Session ownership: leases on session rows and placement. Needs AppConfig, the DataSource and the global SyncModule. */
@Module({ providers: [SessionLeases, SessionPlacement], exports: [SessionLeases, SessionPlacement] })
export class RegistryModule {}
