import type { MessageKey } from './outgoing-message';

// What an engine reports about messages: the ones it receives, and how far each one it sent has got.
// JSON-serialisable throughout (strings, numbers, booleans), so an event can be stored, published and
// replayed as is.

export type MediaType = 'image' | 'video' | 'audio' | 'document' | 'sticker';

/**
 * Media of a message, as metadata plus what it takes to fetch and decrypt it later. WhatsApp keeps the
 * encrypted file on its media hosts and the key only in the message, so `download` is all another
 * replica needs after a failover: no socket, no session state.
 */
export interface MediaDescriptor {
  mimetype: string;
  fileName?: string;
  /** Plain size in bytes. */
  size?: number;
  /** Audio and video length. */
  seconds?: number;
  /** Opaque to callers: pass the descriptor back to `Engine.downloadMedia`. Binary fields are base64. */
  download: {
    mediaType: MediaType;
    directPath: string;
    url?: string;
    mediaKey: string;
    fileEncSha256?: string;
    fileSha256?: string;
  };
}

/** Fields every inbound message has. */
interface InboundBase {
  /** The WhatsApp message id (unique per chat and sender, not globally). */
  id: string;
  /** The conversation: the other person's JID in a 1:1 chat, the group's JID in a group. */
  chat: string;
  /** Who wrote it: the other person, a group member, or this account itself (`fromMe`). */
  sender: string;
  /** Written by this account, on another of its devices (the phone, say). */
  fromMe: boolean;
  /** When the sender sent it, ISO 8601 UTC. */
  timestamp: string;
  /** The name the sender set for themselves, when WhatsApp passed it on. */
  pushName?: string;
  /** The id of the message this one replies to. */
  quotedId?: string;
  /** JIDs mentioned in the text or caption. */
  mentions?: string[];
}

export interface InboundText extends InboundBase {
  kind: 'text';
  text: string;
}

/** A media message; `text` is the caption when it has one. `voice` marks an audio voice note. */
export interface InboundMedia extends InboundBase {
  kind: MediaType;
  text?: string;
  media: MediaDescriptor;
  voice?: boolean;
}

export interface InboundLocation extends InboundBase {
  kind: 'location';
  location: { latitude: number; longitude: number; name?: string; address?: string };
}

export interface InboundContact extends InboundBase {
  kind: 'contact';
  contact: { displayName: string; vcard: string };
}

/** A reaction to `target` (keyed from this account's point of view); `emoji` '' means it was removed. */
export interface InboundReaction extends InboundBase {
  kind: 'reaction';
  target: MessageKey;
  emoji: string;
}

/** The author changed the text (or caption) of `target` to `text`. */
export interface InboundEdit extends InboundBase {
  kind: 'edit';
  target: MessageKey;
  text: string;
}

/** The author deleted `target` for everyone. */
export interface InboundDelete extends InboundBase {
  kind: 'delete';
  target: MessageKey;
}

/** Anything else WhatsApp delivers (polls, buttons, …), named by its protobuf field so nothing goes unseen. */
export interface InboundUnsupported extends InboundBase {
  kind: 'unsupported';
  contentType: string;
}

export type InboundMessage =
  | InboundText
  | InboundMedia
  | InboundLocation
  | InboundContact
  | InboundReaction
  | InboundEdit
  | InboundDelete
  | InboundUnsupported;

export type InboundKind = InboundMessage['kind'];

/**
 * How far a message this account sent has got: `sent` the server took it, `delivered` it reached the
 * recipient's phone, `read` they opened it, `played` they listened to a voice note, `failed` the server
 * refused it. Engines report what WhatsApp says, in arrival order; keeping a stored status monotonic is
 * the caller's job (a late `delivered` may follow `read`).
 */
export type MessageStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

export interface MessageStatusUpdate {
  id: string;
  chat: string;
  status: MessageStatus;
  /** For `failed`: WhatsApp's error code, when it gave one (e.g. `479`). */
  error?: string;
}
