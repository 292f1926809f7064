import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { getMediaKeys, normalizeMessageContent, proto, type MediaType } from 'baileys';
import type { MediaServer } from './media-server';

/**
 * What a recipient's phone shows of a message it was sent, as plain data for the control API: the kind,
 * its text, media that was fetched from the sim's media host and decrypted (with the plain file's
 * SHA-256 so a test can compare it with what it sent), and what a reaction, edit or revoke points at.
 */
export interface DecodedContent {
  kind: 'text' | 'image' | 'video' | 'audio' | 'document' | 'sticker' | 'location' | 'contact' | 'reaction' | 'edit' | 'revoke' | 'other';
  text?: string;
  caption?: string;
  media?: DecodedMedia;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contact?: { displayName: string; vcard: string };
  /** Reaction, edit and revoke: the message they act on, keyed as the sender sees it. */
  target?: { id: string; fromMe: boolean };
  /** A reaction's emoji ('' removes it). */
  emoji?: string;
  /** The id of the message this one replies to. */
  quotedId?: string;
  mentions?: string[];
  linkPreview?: { matchedText: string; title?: string };
  /** The protobuf field for kind `other`. */
  contentType?: string;
}

export interface DecodedMedia {
  mimetype: string;
  fileName?: string;
  /** A voice note (ptt) rather than an audio file. */
  voice?: boolean;
  seconds?: number;
  /** Plain size in bytes, as downloaded. */
  size?: number;
  /** Hex SHA-256 of the decrypted file. */
  sha256?: string;
  /** The file was on the media host, passed its MAC and hash checks, and decrypted. */
  decrypted: boolean;
  /** Why it did not, when it did not. */
  error?: string;
}

const MEDIA: Record<string, 'image' | 'video' | 'audio' | 'document' | 'sticker'> = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
};

const { REVOKE, MESSAGE_EDIT } = proto.Message.ProtocolMessage.Type;

export async function decodeContent(message: proto.IMessage, media: MediaServer): Promise<DecodedContent> {
  const content = normalizeMessageContent(message) ?? {};
  if (content.conversation) return { kind: 'text', text: content.conversation };
  if (content.extendedTextMessage) {
    const ext = content.extendedTextMessage;
    return {
      kind: 'text',
      text: ext.text ?? '',
      ...contextOf(ext.contextInfo),
      ...(ext.matchedText ? { linkPreview: { matchedText: ext.matchedText, ...(ext.title ? { title: ext.title } : {}) } } : {}),
    };
  }
  for (const [field, type] of Object.entries(MEDIA)) {
    const found = content[field as keyof proto.IMessage] as MediaFields | null | undefined;
    if (!found) continue;
    return {
      kind: type,
      ...(found.caption ? { caption: found.caption } : {}),
      media: await openMedia(found, type, media),
      ...contextOf(found.contextInfo),
    };
  }
  if (content.locationMessage) {
    const { degreesLatitude, degreesLongitude, name, address, contextInfo } = content.locationMessage;
    return {
      kind: 'location',
      location: { latitude: degreesLatitude ?? 0, longitude: degreesLongitude ?? 0, ...(name ? { name } : {}), ...(address ? { address } : {}) },
      ...contextOf(contextInfo),
    };
  }
  const contact = content.contactMessage ?? content.contactsArrayMessage?.contacts?.[0];
  if (contact) return { kind: 'contact', contact: { displayName: contact.displayName ?? '', vcard: contact.vcard ?? '' }, ...contextOf(contact.contextInfo) };
  if (content.reactionMessage) {
    const { key, text } = content.reactionMessage;
    return { kind: 'reaction', target: { id: key?.id ?? '', fromMe: Boolean(key?.fromMe) }, emoji: text ?? '' };
  }
  const protocol = content.protocolMessage;
  if (protocol?.type === REVOKE) return { kind: 'revoke', target: { id: protocol.key?.id ?? '', fromMe: Boolean(protocol.key?.fromMe) } };
  if (protocol?.type === MESSAGE_EDIT) {
    const edited = normalizeMessageContent(protocol.editedMessage);
    return {
      kind: 'edit',
      target: { id: protocol.key?.id ?? '', fromMe: Boolean(protocol.key?.fromMe) },
      text: edited?.conversation ?? edited?.extendedTextMessage?.text ?? edited?.imageMessage?.caption ?? '',
    };
  }
  const contentType = Object.keys(content).find((field) => field !== 'messageContextInfo' && field !== 'senderKeyDistributionMessage');
  return { kind: 'other', ...(contentType ? { contentType } : {}) };
}

/** The text a recipient reads first: the text itself, a caption, or an edit's new text. */
export function headlineOf(content: DecodedContent): string | undefined {
  return content.text ?? content.caption;
}

type MediaFields = proto.Message.IImageMessage &
  proto.Message.IVideoMessage &
  proto.Message.IAudioMessage &
  proto.Message.IDocumentMessage &
  proto.Message.IStickerMessage;

/** As the recipient's phone does: fetch by direct path, check hash and MAC, decrypt, check the plain hash. */
async function openMedia(fields: MediaFields, type: MediaType, media: MediaServer): Promise<DecodedMedia> {
  const described: DecodedMedia = {
    mimetype: fields.mimetype ?? '',
    ...(fields.fileName ? { fileName: fields.fileName } : {}),
    ...(type === 'audio' ? { voice: Boolean(fields.ptt) } : {}),
    ...(fields.seconds ? { seconds: fields.seconds } : {}),
    decrypted: false,
  };
  const stored = fields.directPath ? media.find(fields.directPath) : undefined;
  if (!stored || !fields.mediaKey) return { ...described, error: 'not on the media host' };
  const file = stored.bytes;
  if (fields.fileEncSha256 && !same(sha256(file), Buffer.from(fields.fileEncSha256))) return { ...described, error: 'encrypted hash mismatch' };
  const { iv, cipherKey, macKey } = await getMediaKeys(fields.mediaKey, type);
  const encrypted = file.subarray(0, -10);
  const mac = createHmac('sha256', macKey!).update(iv).update(encrypted).digest().subarray(0, 10);
  if (!same(mac, file.subarray(-10))) return { ...described, error: 'MAC mismatch' };
  let plain: Buffer;
  try {
    const aes = createDecipheriv('aes-256-cbc', cipherKey, iv);
    plain = Buffer.concat([aes.update(encrypted), aes.final()]);
  } catch {
    return { ...described, error: 'does not decrypt' };
  }
  const digest = sha256(plain);
  if (fields.fileSha256 && !same(digest, Buffer.from(fields.fileSha256))) return { ...described, error: 'plain hash mismatch' };
  return { ...described, size: plain.length, sha256: digest.toString('hex'), decrypted: true };
}

function contextOf(context: proto.IContextInfo | null | undefined): Pick<DecodedContent, 'quotedId' | 'mentions'> {
  return {
    ...(context?.stanzaId ? { quotedId: context.stanzaId } : {}),
    ...(context?.mentionedJid?.length ? { mentions: context.mentionedJid } : {}),
  };
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
