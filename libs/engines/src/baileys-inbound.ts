import {
  getContentType,
  isJidBroadcast,
  isLidUser,
  isPnUser,
  jidNormalizedUser,
  normalizeMessageContent,
  proto,
  toNumber,
  type WAMessage,
} from 'baileys';
import type { InboundMessage, MediaDescriptor, MediaType } from './inbound-message';
import type { MessageKey } from './outgoing-message';

// Turns what Baileys upserts into wafleet's InboundMessage: one flat, JSON-safe shape per kind, with
// JIDs by phone number where WhatsApp names both a LID and a number.

const MEDIA_FIELDS: Record<string, MediaType> = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
};

/** The protocol messages a user makes; the others are app plumbing (key shares, history sync, …). */
const { REVOKE, MESSAGE_EDIT } = proto.Message.ProtocolMessage.Type;

/**
 * @param meJid this account's JID, the sender of its own messages
 * @returns the normalized message, or undefined for what is no message to a user (status broadcasts,
 * protocol plumbing, stubs without content)
 */
export function toInboundMessage(raw: WAMessage, meJid: string): InboundMessage | undefined {
  const key = raw.key;
  const content = normalizeMessageContent(raw.message);
  const type = getContentType(content);
  if (!key?.id || !key.remoteJid || !content || !type || isJidBroadcast(key.remoteJid)) return undefined;
  const chat = preferPhone(key.remoteJid, key.remoteJidAlt);
  const fromMe = Boolean(key.fromMe);
  const sender = fromMe ? jidNormalizedUser(meJid) : preferPhone(key.participant || key.remoteJid, key.participantAlt || key.remoteJidAlt);
  const seconds = toNumber(raw.messageTimestamp as number);
  const base = {
    id: key.id,
    chat,
    sender,
    fromMe,
    timestamp: new Date((seconds || Date.now() / 1000) * 1000).toISOString(),
    ...(raw.pushName ? { pushName: raw.pushName } : {}),
    ...contextOf((content[type] as { contextInfo?: proto.IContextInfo } | undefined)?.contextInfo),
  };

  if (type === 'conversation') return { ...base, kind: 'text', text: content.conversation ?? '' };
  if (type === 'extendedTextMessage') return { ...base, kind: 'text', text: content.extendedTextMessage?.text ?? '' };
  const mediaType = MEDIA_FIELDS[type];
  if (mediaType) {
    const message = content[type] as MediaMessage;
    const caption = (message as { caption?: string | null }).caption;
    return {
      ...base,
      kind: mediaType,
      ...(caption ? { text: caption } : {}),
      media: descriptorOf(message, mediaType),
      ...(mediaType === 'audio' ? { voice: Boolean(content.audioMessage?.ptt) } : {}),
    };
  }
  if (type === 'locationMessage') {
    const { degreesLatitude, degreesLongitude, name, address } = content.locationMessage!;
    return {
      ...base,
      kind: 'location',
      location: { latitude: degreesLatitude ?? 0, longitude: degreesLongitude ?? 0, ...(name ? { name } : {}), ...(address ? { address } : {}) },
    };
  }
  if (type === 'contactMessage') {
    const { displayName, vcard } = content.contactMessage!;
    return { ...base, kind: 'contact', contact: { displayName: displayName ?? '', vcard: vcard ?? '' } };
  }
  if (type === 'reactionMessage') {
    // Baileys has already turned the target key to this account's point of view.
    const reaction = content.reactionMessage!;
    return { ...base, kind: 'reaction', target: targetOf(reaction.key, chat, fromMe), emoji: reaction.text ?? '' };
  }
  if (type === 'protocolMessage') {
    const protocol = content.protocolMessage!;
    // Only the author edits or deletes for everyone, so the target is the sender's own message.
    const target = (): MessageKey => ({
      id: protocol.key?.id ?? '',
      chat,
      fromMe,
      ...(key.participant ? { participant: sender } : {}),
    });
    if (protocol.type === REVOKE) return { ...base, kind: 'delete', target: target() };
    if (protocol.type === MESSAGE_EDIT) return { ...base, kind: 'edit', target: target(), text: textOf(protocol.editedMessage) };
    return undefined;
  }
  if (type === 'senderKeyDistributionMessage' || type === 'messageContextInfo') return undefined;
  return { ...base, kind: 'unsupported', contentType: String(type) };
}

type MediaMessage = proto.Message.IImageMessage &
  proto.Message.IVideoMessage &
  proto.Message.IAudioMessage &
  proto.Message.IDocumentMessage &
  proto.Message.IStickerMessage;

function descriptorOf(message: MediaMessage, mediaType: MediaType): MediaDescriptor {
  const size = message.fileLength === null || message.fileLength === undefined ? undefined : toNumber(message.fileLength);
  return {
    mimetype: message.mimetype ?? 'application/octet-stream',
    ...(message.fileName ? { fileName: message.fileName } : {}),
    ...(size !== undefined ? { size } : {}),
    ...(message.seconds ? { seconds: message.seconds } : {}),
    download: {
      mediaType,
      directPath: message.directPath ?? '',
      ...(message.url ? { url: message.url } : {}),
      mediaKey: base64(message.mediaKey) ?? '',
      ...(message.fileEncSha256 ? { fileEncSha256: base64(message.fileEncSha256) } : {}),
      ...(message.fileSha256 ? { fileSha256: base64(message.fileSha256) } : {}),
    },
  };
}

function contextOf(context: proto.IContextInfo | null | undefined): { quotedId?: string; mentions?: string[] } {
  return {
    ...(context?.stanzaId ? { quotedId: context.stanzaId } : {}),
    ...(context?.mentionedJid?.length ? { mentions: context.mentionedJid } : {}),
  };
}

function targetOf(key: proto.IMessageKey | null | undefined, chat: string, fromMe: boolean): MessageKey {
  return {
    id: key?.id ?? '',
    chat: key?.remoteJid ? jidNormalizedUser(key.remoteJid) : chat,
    fromMe: key?.fromMe ?? !fromMe,
    ...(key?.participant ? { participant: jidNormalizedUser(key.participant) } : {}),
  };
}

function textOf(message: proto.IMessage | null | undefined): string {
  const content = normalizeMessageContent(message);
  return (
    content?.conversation ??
    content?.extendedTextMessage?.text ??
    content?.imageMessage?.caption ??
    content?.videoMessage?.caption ??
    content?.documentMessage?.caption ??
    ''
  );
}

/** A JID by phone number when WhatsApp gave one beside a LID: what API callers address people by. */
function preferPhone(jid: string, alt: string | null | undefined): string {
  if (isLidUser(jid) && alt && isPnUser(alt)) return jidNormalizedUser(alt);
  return jidNormalizedUser(jid);
}

function base64(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString('base64') : undefined;
}
