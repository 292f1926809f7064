import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingModule } from '@wafleet/billing';
import { EnginesModule } from '@wafleet/engines';
import { RegistryModule } from '@wafleet/registry';
import { EventLog } from './event-log';
import { EventRetention } from './event-retention';
import { SessionEvents } from './session-events';
import { SessionLifecycle } from './session-lifecycle';
import { SessionLocks } from './session-locks';
import { SessionReconciler } from './session-reconciler';
import { SessionRuntime } from './session-runtime';
import { SessionStatusWrites } from './session-status-writes';
import { Session } from './session.entity';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

/** Sessions over REST, the engines this replica runs for them under leases, the reconciler, and their event log and its retention. */
@Module({
  imports: [TypeOrmModule.forFeature([Session]), EnginesModule, RegistryModule, BillingModule],
  controllers: [SessionsController],
  providers: [SessionEvents, EventLog, EventRetention, SessionLocks, SessionStatusWrites, SessionRuntime, SessionReconciler, SessionLifecycle, SessionsService],
  exports: [SessionEvents, EventLog, SessionsService, SessionRuntime, SessionStatusWrites],
})
export class SessionsModule {}
