import { ValidationFailedError } from '@wafleet/core';
import type { MediaType, MessageKey, OutgoingContent, OutgoingMessage, QuotedMessage } from '@wafleet/engines';
import { toChatJid } from './jid';
import type { ResolvedMedia } from './media-source';
import type { MessageRow } from './message.view';
import { MEDIA_KINDS, type SendMessageDto } from './messages.dto';

/**
 * What a pending message row holds so that whichever replica owns the session can send it: the content
 * without the media bytes (those wait in `message_uploads`), and the keys of the messages it quotes or
 * reacts to. It is also what the API shows as the message's `content`.
 */
export interface StoredContent {
  linkPreview?: boolean;
  mimetype?: string;
  fileName?: string;
  voice?: boolean;
  seconds?: number;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contact?: { displayName: string; vcard: string } | { name: string; phone: string };
  target?: MessageKey;
  emoji?: string;
  quoted?: QuotedMessage;
  mentions?: string[];
}

/** Looks a message of the session up by id or WhatsApp id, for replies and reactions. */
export type KeyLookup = (idOrWaId: string, field: string) => Promise<{ key: MessageKey; text: string | null }>;

/** The row's body (text or caption) and content for a validated request. */
export async function toStoredContent(
  dto: SendMessageDto,
  media: ResolvedMedia | undefined,
  lookup: KeyLookup,
): Promise<{ body: string | null; content: StoredContent }> {
  const content: StoredContent = {};
  if (dto.mentions?.length) content.mentions = dto.mentions.map((mention, i) => toChatJid(mention, `mentions[${i}]`));
  if (dto.quotedId && dto.kind !== 'reaction') {
    const quoted = await lookup(dto.quotedId, 'quotedId');
    content.quoted = { ...quoted.key, ...(quoted.text ? { text: quoted.text } : {}) };
  }
  if (media) {
    content.mimetype = media.mimetype;
    if (media.fileName) content.fileName = media.fileName;
  }
  switch (dto.kind) {
    case 'text':
      if (dto.linkPreview) content.linkPreview = true;
      return { body: dto.text!, content };
    case 'audio':
      if (dto.voice) content.voice = true;
      if (dto.seconds !== undefined) content.seconds = dto.seconds;
      return { body: null, content };
    case 'video':
      if (dto.seconds !== undefined) content.seconds = dto.seconds;
      return { body: dto.caption ?? null, content };
    case 'document':
      content.fileName = media?.fileName ?? 'file';
      return { body: dto.caption ?? null, content };
    case 'image':
      return { body: dto.caption ?? null, content };
    case 'sticker':
      return { body: null, content };
    case 'location':
      content.location = { ...dto.location! };
      return { body: dto.location!.name ?? null, content };
    case 'contact':
      content.contact = contactOf(dto);
      return { body: 'displayName' in content.contact ? content.contact.displayName : content.contact.name, content };
    case 'reaction': {
      const target = await lookup(dto.reaction!.messageId, 'reaction.messageId');
      content.target = target.key;
      content.emoji = dto.reaction!.emoji;
      return { body: dto.reaction!.emoji, content };
    }
  }
}

function contactOf(dto: SendMessageDto): NonNullable<StoredContent['contact']> {
  const contact = dto.contact!;
  if (contact.vcard !== undefined || contact.displayName !== undefined) {
    if (!contact.vcard || !contact.displayName) throw invalid('contact', 'contact needs both displayName and vcard, or name and phone');
    if (!/^BEGIN:VCARD/i.test(contact.vcard.trim())) throw invalid('contact.vcard', 'contact.vcard must be a vCard (BEGIN:VCARD …)');
    return { displayName: contact.displayName, vcard: contact.vcard };
  }
  if (!contact.name || !contact.phone) throw invalid('contact', 'contact needs both name and phone, or displayName and vcard');
  return { name: contact.name, phone: toChatJid(contact.phone, 'contact.phone').split('@')[0]! };
}

/** The message an engine sends for a pending row, with its media bytes. */
export function toOutgoingMessage(row: MessageRow, upload: Buffer | undefined): OutgoingMessage {
  const content = row.content as StoredContent;
  const common = { id: row.wa_id, to: row.chat, ...(content.quoted ? { quoted: content.quoted } : {}), ...(content.mentions ? { mentions: content.mentions } : {}) };
  const media = () => {
    if (!upload) throw new Error(`message ${row.id} has no media bytes to send`);
    return { data: upload, mimetype: content.mimetype! };
  };
  const caption = row.body ?? undefined;
  let body: OutgoingContent;
  switch (row.kind) {
    case 'text':
      body = { kind: 'text', text: row.body ?? '', linkPreview: content.linkPreview ?? false };
      break;
    case 'image':
    case 'video':
      body = { kind: row.kind, ...media(), ...(caption ? { caption } : {}) };
      break;
    case 'audio':
      body = { kind: 'audio', ...media(), voice: content.voice ?? false, ...(content.seconds !== undefined ? { seconds: content.seconds } : {}) };
      break;
    case 'document':
      body = { kind: 'document', ...media(), fileName: content.fileName ?? 'file', ...(caption ? { caption } : {}) };
      break;
    case 'sticker':
      body = { kind: 'sticker', ...media() };
      break;
    case 'location':
      body = { kind: 'location', ...content.location! };
      break;
    case 'contact':
      body = { kind: 'contact', ...content.contact! } as OutgoingContent;
      break;
    case 'reaction':
      body = { kind: 'reaction', target: content.target!, emoji: content.emoji ?? '' };
      break;
    default:
      throw new Error(`message ${row.id} has kind ${row.kind}, which is not sent`);
  }
  return { ...body, ...common } as OutgoingMessage;
}

export const isMediaKind = (kind: string): kind is MediaType => (MEDIA_KINDS as readonly string[]).includes(kind);

const invalid = (field: string, problem: string) => new ValidationFailedError([{ field, problems: [problem] }]);
