import type { MediaDescriptor } from './inbound-message';

// What a caller asks an engine to send, and what it gets back. Plain data: the session layer may carry
// these over the Bus to the session's owner, so nothing here holds a socket or a class instance
// (media bytes are Buffers, which the Bus serialises).

/**
 * Names one message in a chat, as WhatsApp does: `id` is the WhatsApp message id, `chat` the JID of the
 * conversation (`<phone>@s.whatsapp.net`, `<lid>@lid` or a group `…@g.us`), `fromMe` whether this
 * account wrote it, and in a group `participant` the JID of its author.
 */
export interface MessageKey {
  id: string;
  chat: string;
  fromMe: boolean;
  participant?: string;
}

/**
 * The message a reply quotes. The engine keeps no copy of past messages, so `text`, when given, is what
 * the quote shows (WhatsApp carries the quoted content inside the reply); without it only the id and
 * author travel, and the recipient's app looks the message up in its own history.
 */
export interface QuotedMessage extends MessageKey {
  text?: string;
}

/** Media an outgoing message carries: the plain bytes (the engine encrypts and uploads them) and their type. */
export interface OutgoingMedia {
  data: Buffer;
  /** e.g. `image/jpeg`, `video/mp4`, `audio/ogg; codecs=opus`, `application/pdf`, `image/webp` */
  mimetype: string;
}

/**
 * `linkPreview`: when true and the text holds a URL, the message carries a preview of it built without
 * the internet: the first URL as the matched text and its host name as the title, with no description or
 * thumbnail. The engine never fetches the page (that would leak the server's address to any site a
 * customer names, and stall a send on a slow site). When false, no preview. @default false
 */
export interface OutgoingText {
  kind: 'text';
  text: string;
  linkPreview?: boolean;
}

export interface OutgoingImage extends OutgoingMedia {
  kind: 'image';
  caption?: string;
}

export interface OutgoingVideo extends OutgoingMedia {
  kind: 'video';
  caption?: string;
}

/** `voice`: a push-to-talk voice note (WhatsApp's `ptt`), which the recipient "plays"; otherwise an audio file. */
export interface OutgoingAudio extends OutgoingMedia {
  kind: 'audio';
  voice: boolean;
  /** Length in seconds, shown before the audio is downloaded. */
  seconds?: number;
}

export interface OutgoingDocument extends OutgoingMedia {
  kind: 'document';
  fileName: string;
  caption?: string;
}

/** A WebP image (`image/webp`); WhatsApp shows stickers without a caption. */
export interface OutgoingSticker extends OutgoingMedia {
  kind: 'sticker';
}

export interface OutgoingLocation {
  kind: 'location';
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
}

/**
 * A contact card: either a ready vCard with the name to show, or a name and a phone number (E.164 digits,
 * `+` optional) from which the engine builds a vCard 3.0 carrying WhatsApp's `waid` for the number.
 */
export type OutgoingContact =
  | { kind: 'contact'; displayName: string; vcard: string }
  | { kind: 'contact'; name: string; phone: string };

/** A reaction to `target`; `emoji` '' removes this account's earlier reaction. */
export interface OutgoingReaction {
  kind: 'reaction';
  target: MessageKey;
  emoji: string;
}

export type OutgoingContent =
  | OutgoingText
  | OutgoingImage
  | OutgoingVideo
  | OutgoingAudio
  | OutgoingDocument
  | OutgoingSticker
  | OutgoingLocation
  | OutgoingContact
  | OutgoingReaction;

export type OutgoingKind = OutgoingContent['kind'];

/**
 * One message to send. `id` is chosen by the caller before sending (see `newMessageId`) and stored
 * first: a resend after a crash or a retry carries the same id, so WhatsApp and the recipient see the
 * same message again, never a second one. `to` is the chat's JID.
 */
export type OutgoingMessage = OutgoingContent & {
  id: string;
  to: string;
  /** Sends the message as a reply to this one. Ignored for reactions. */
  quoted?: QuotedMessage;
  /** JIDs the text or caption mentions (`@<phone>` in the text is how apps show them). */
  mentions?: string[];
};

/**
 * What an engine sent: the message's key and, for media, where the uploaded copy lives (the same
 * descriptor an inbound message carries, so a sent file can be downloaded again later).
 */
export interface SentMessage {
  id: string;
  chat: string;
  kind: OutgoingKind | 'edit' | 'delete';
  /** When the engine handed it to WhatsApp, ISO 8601 UTC. */
  timestamp: string;
  media?: MediaDescriptor;
}

/**
 * `composing`/`recording`/`paused` tell one chat that this account is typing, recording a voice note or
 * stopped; `available`/`unavailable` set the account online or offline for all its contacts.
 */
export type PresenceState = 'composing' | 'recording' | 'paused' | 'available' | 'unavailable';
