import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EnginesModule } from '@wafleet/engines';
import { SessionEvents } from './session-events';
import { SessionLocks } from './session-locks';
import { SessionRuntime } from './session-runtime';
import { Session } from './session.entity';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

/** Sessions over REST, the engines this process runs for them, and their domain events. */
@Module({
  imports: [TypeOrmModule.forFeature([Session]), EnginesModule],
  controllers: [SessionsController],
  providers: [SessionEvents, SessionLocks, SessionRuntime, SessionsService],
  exports: [SessionEvents, SessionsService],
})
export class SessionsModule {}
