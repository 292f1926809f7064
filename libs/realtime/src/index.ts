export { RealtimeModule } from './realtime.module';
export { RealtimeIoAdapter } from './realtime-io.adapter';
export { EventsGateway, sessionRoom, tenantRoom } from './events.gateway';
export type { SubscribeAck } from './events.gateway';
export { parseSubscribeRequest } from './subscription';
export type { SubscribeRequest } from './subscription';
