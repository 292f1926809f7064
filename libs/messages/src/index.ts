export { MessagesModule } from './messages.module';
export { MessagesService } from './messages.service';
export type { MessageView } from './message.view';
export { MessageDispatcher } from './message-dispatcher';
export { insertOutgoingRow } from './message-rows';
export type { NewOutgoing } from './message-rows';
export { toChatJid } from './jid';
export { resolveMedia } from './media-source';
export type { MediaInput, ResolvedMedia } from './media-source';
