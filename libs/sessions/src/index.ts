export { SessionsModule } from './sessions.module';
export { SessionsService } from './sessions.service';
export type { SessionView } from './session.view';
export { SessionEvents } from './session-events';
export type { SessionEvent, SessionEventData, SessionEventType } from './session-events';
export { Session } from './session.entity';
export type { DesiredState, SessionMe, SessionStatus } from './session.entity';
export { parsePhoneNumber } from './phone-number';
