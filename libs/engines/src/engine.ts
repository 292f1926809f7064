import { EventEmitter } from 'node:events';
import type { InboundMessage, MediaDescriptor, MessageStatusUpdate } from './inbound-message';
import type { MessageKey, OutgoingMessage, PresenceState, SentMessage } from './outgoing-message';

// The message types live beside this port: outgoing-message.ts (what to send, MessageKey, SentMessage,
// PresenceState) and inbound-message.ts (InboundMessage, MediaDescriptor, MessageStatusUpdate).

/**
 * Why an engine stopped talking to WhatsApp for good (until started again). Transient disconnects are
 * not closes: the engine reconnects by itself and only reports the outcome.
 * - `stopped`: our own `stop()`.
 * - `logged_out`: the phone unlinked the device (or `logout()`); the auth state has been wiped.
 * - `qr_expired`: every QR ref was shown and none was scanned.
 * - `replaced`: another connection of the same account logged in; the engine does not fight it.
 * - `stale_epoch`: an auth-state write was refused because another owner claimed the session.
 * - `failed`: the engine gave up reconnecting.
 */
export type EngineCloseReason = 'stopped' | 'logged_out' | 'qr_expired' | 'replaced' | 'stale_epoch' | 'failed';

/** The linked account, as WhatsApp names it: `id` is the device jid (`<phone>:<device>@s.whatsapp.net`). */
export interface EngineMe {
  id: string;
  name?: string;
}

export interface EngineEvents {
  /** A QR to show the user; a registering engine emits a new one each time the previous ref expires. */
  qr: [qr: string];
  /** Logged in; emitted again after every successful reconnect. */
  open: [me: EngineMe];
  /** A code the user types on the phone (Linked devices → Link with phone number) instead of scanning. */
  'pairing-code': [code: string];
  /** Emitted once per `start()`, whatever ended it. */
  close: [reason: EngineCloseReason];
  /**
   * A message that arrived while connected, including the account's own ones written on its other
   * devices (`fromMe`), reactions, edits and deletes. Not the engine's own sends: those are `status`.
   */
  message: [message: InboundMessage];
  /** How far a message this account sent has got; see MessageStatus. */
  status: [update: MessageStatusUpdate];
}

/** Bytes of a downloaded and decrypted media file. */
export interface DownloadedMedia {
  data: Buffer;
  mimetype: string;
}

/**
 * The port every WhatsApp connection sits behind (DI token): Baileys today, the Cloud API later. An engine
 * serves one session under one fencing epoch; the session layer owns the lifecycle lock around it.
 */
export abstract class Engine extends EventEmitter<EngineEvents> {
  /** Connects (registering with a QR when the session has no creds yet); resolves once the attempt is under way. */
  abstract start(): Promise<void>;
  /** Disconnects and cancels any pending reconnect; emits `close('stopped')` unless already closed. */
  abstract stop(): Promise<void>;
  /** Unlinks the device from the account, wipes the auth state and emits `close('logged_out')`. */
  abstract logout(): Promise<void>;
  /**
   * Asks WhatsApp for a code that links `phone` (digits only) without a QR. Only while registering, that
   * is after the first `qr` and before pairing; otherwise it rejects with EngineNotRegisteringError.
   */
  abstract requestPairingCode(phone: string): Promise<string>;

  /**
   * Sends `message` under the id the caller chose, and resolves once it is encrypted and written to
   * WhatsApp (media uploaded first); the server's ack follows as status `sent`, then the recipient's
   * receipts. Sending the same id again resends the same message.
   * @throws EngineNotConnectedError while not logged in; InvalidMessageError for a bad JID or content
   */
  abstract send(message: OutgoingMessage): Promise<SentMessage>;
  /**
   * Replaces the text (or caption) of a message this account sent. `id` names the edit itself, for
   * idempotent retries. @default id a new message id
   */
  abstract edit(target: MessageKey, text: string, id?: string): Promise<SentMessage>;
  /** Deletes a message for everyone in the chat ("revoke"). `id` as for `edit`. */
  abstract deleteForEveryone(target: MessageKey, id?: string): Promise<SentMessage>;
  /** Tells the senders of `keys` (messages this account received) that they were read. */
  abstract markRead(keys: MessageKey[]): Promise<void>;
  /**
   * Typing, recording or paused in `chat`; or the whole account online or offline (`chat` is then
   * ignored). @throws EngineNoPushNameError for `available`/`unavailable` before WhatsApp has told the
   * engine the account's own display name, which presence must carry
   */
  abstract sendPresence(chat: string, state: PresenceState): Promise<void>;
  /**
   * Fetches and decrypts the media of a message, from its descriptor alone: any replica can, connected
   * or not. @throws MediaUnavailableError when the host no longer has it or it fails its integrity check
   */
  abstract downloadMedia(message: { media?: MediaDescriptor }): Promise<DownloadedMedia>;
}
