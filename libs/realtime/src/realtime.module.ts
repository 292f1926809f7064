import { Module } from '@nestjs/common';
import { AuthModule } from '@wafleet/auth';
import { SessionsModule } from '@wafleet/sessions';
import { EventsGateway } from './events.gateway';
import { RealtimeMetrics } from './realtime.metrics';

/** Socket.IO `/events`: tenant-key auth, session and tenant rooms, replay from the event log. */
@Module({
  imports: [AuthModule, SessionsModule],
  providers: [EventsGateway, RealtimeMetrics],
})
export class RealtimeModule {}
