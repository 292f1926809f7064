export { AuthStateStore } from './auth-state.store';
export type { SignalKeyType } from './auth-state.store';
export { StaleEpochError } from './auth-state.errors';
export type { AuthenticationCreds, AuthenticationState, SignalDataSet, SignalDataTypeMap } from 'baileys';
export { Engine } from './engine';
export { EngineNotRegisteringError } from './engine.errors';
export type { EngineCloseReason, EngineEvents, EngineMe } from './engine';
export { BaileysEngine } from './baileys.engine';
export type { BaileysEngineOptions, EngineLogger } from './baileys.engine';
export { ReconnectPolicy } from './reconnect-policy';
export type { DisconnectAction, ReconnectOptions } from './reconnect-policy';
export { EngineFactory } from './engine.factory';
export type { EngineContext } from './engine.factory';
export { EnginesModule } from './engines.module';
export { EngineNoPushNameError, EngineNotConnectedError, InvalidMessageError, MediaUnavailableError } from './engine.errors';
export type { DownloadedMedia } from './engine';
export { newMessageId } from './message-id';
export type {
  MessageKey,
  OutgoingAudio,
  OutgoingContact,
  OutgoingContent,
  OutgoingDocument,
  OutgoingImage,
  OutgoingKind,
  OutgoingLocation,
  OutgoingMedia,
  OutgoingMessage,
  OutgoingReaction,
  OutgoingSticker,
  OutgoingText,
  OutgoingVideo,
  PresenceState,
  QuotedMessage,
  SentMessage,
} from './outgoing-message';
export type {
  InboundContact,
  InboundDelete,
  InboundEdit,
  InboundKind,
  InboundLocation,
  InboundMedia,
  InboundMessage,
  InboundReaction,
  InboundText,
  InboundUnsupported,
  MediaDescriptor,
  MediaType,
  MessageStatus,
  MessageStatusUpdate,
} from './inbound-message';
export { downloadMedia } from './media-download';
