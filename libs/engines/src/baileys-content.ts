import { jidDecode, type AnyMessageContent, type proto, type WAMessageKey, type WAUrlInfo } from 'baileys';
import { InvalidMessageError } from './engine.errors';
import type { MessageKey, OutgoingContact, OutgoingMessage, QuotedMessage } from './outgoing-message';

// Translates wafleet's outgoing messages into the content Baileys' sendMessage takes, refusing what
// WhatsApp would refuse before anything is uploaded or encrypted.

/** Servers a message can go to: a phone number, a LID, a group. */
const CHAT_SERVERS = new Set(['s.whatsapp.net', 'lid', 'g.us']);
/** WhatsApp Web's own ids are `3EB0` and hex; phones' are hex too. Letters and digits keep a stanza valid. */
const MESSAGE_ID = /^[A-Za-z0-9]{1,64}$/;
const URL_IN_TEXT = /https?:\/\/[^\s<>"]+/i;
const PHONE_DIGITS = /^\+?(\d{5,20})$/;

/** @throws InvalidMessageError naming `field` when `jid` is not a chat JID */
export function assertChatJid(jid: unknown, field: string): asserts jid is string {
  const decoded = typeof jid === 'string' ? jidDecode(jid) : undefined;
  if (!decoded?.user || !CHAT_SERVERS.has(decoded.server) || decoded.device) {
    throw new InvalidMessageError(field, 'must be a chat JID such as 5511999990000@s.whatsapp.net or …@g.us');
  }
}

export function assertMessageId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || !MESSAGE_ID.test(id)) throw new InvalidMessageError(field, 'must be 1 to 64 letters or digits');
}

export function toBaileysKey(key: MessageKey, field: string): WAMessageKey {
  assertMessageId(key?.id, `${field}.id`);
  assertChatJid(key.chat, `${field}.chat`);
  return { remoteJid: key.chat, id: key.id, fromMe: Boolean(key.fromMe), ...(key.participant ? { participant: key.participant } : {}) };
}

/**
 * The content for `sendMessage(message.to, content, { messageId: message.id })`. `meJid` is this
 * account's JID, the author of a quoted message of its own.
 * @throws InvalidMessageError for a bad recipient, id or content
 */
export function toBaileysContent(message: OutgoingMessage, meJid: string): AnyMessageContent {
  assertChatJid(message.to, 'to');
  assertMessageId(message.id);
  const content = contentOf(message);
  if (message.kind !== 'reaction') {
    if (message.quoted) content.contextInfo = quoteOf(message.quoted, message.to, meJid);
    if (message.mentions?.length) {
      message.mentions.forEach((jid, index) => assertChatJid(jid, `mentions[${index}]`));
      content.mentions = message.mentions;
    }
  }
  // Baileys applies mentions and contextInfo to any content at run time; its types list them for some.
  return content as AnyMessageContent;
}

function contentOf(message: OutgoingMessage): Record<string, unknown> {
  switch (message.kind) {
    case 'text':
      requireText(message.text, 'text');
      return { text: message.text, linkPreview: message.linkPreview ? offlinePreview(message.text) : null };
    case 'image':
      return { image: media(message), mimetype: message.mimetype, caption: message.caption };
    case 'video':
      return { video: media(message), mimetype: message.mimetype, caption: message.caption };
    case 'audio':
      return { audio: media(message), mimetype: message.mimetype, ptt: Boolean(message.voice), seconds: message.seconds };
    case 'document':
      requireText(message.fileName, 'fileName');
      return { document: media(message), mimetype: message.mimetype, fileName: message.fileName, caption: message.caption };
    case 'sticker':
      if (message.mimetype !== 'image/webp') throw new InvalidMessageError('mimetype', 'must be image/webp for a sticker');
      return { sticker: media(message), mimetype: message.mimetype };
    case 'location':
      return { location: location(message.latitude, message.longitude, message.name, message.address) };
    case 'contact': {
      const card = contactCard(message);
      return { contacts: { displayName: card.displayName, contacts: [card] } };
    }
    case 'reaction':
      if (typeof message.emoji !== 'string') throw new InvalidMessageError('emoji', "must be a string ('' removes the reaction)");
      return { react: { text: message.emoji, key: toBaileysKey(message.target, 'target') } };
    default:
      throw new InvalidMessageError('kind', `is not one the engine sends: ${String((message as { kind?: unknown }).kind)}`);
  }
}

/**
 * A preview made from the text alone, never from the page: the first URL, titled by its host. When the
 * text holds no URL there is nothing to preview, and none is sent.
 */
export function offlinePreview(text: string): WAUrlInfo | null {
  const url = URL_IN_TEXT.exec(text)?.[0];
  if (!url) return null;
  let title: string;
  try {
    title = new URL(url).hostname;
  } catch {
    return null;
  }
  return { 'matched-text': url, 'canonical-url': url, title };
}

/** A vCard 3.0 for one phone number, with the `waid` that makes WhatsApp offer to message it. */
export function contactCard(contact: OutgoingContact): { displayName: string; vcard: string } {
  if ('vcard' in contact) {
    requireText(contact.displayName, 'displayName');
    if (typeof contact.vcard !== 'string' || !/^BEGIN:VCARD/i.test(contact.vcard.trim())) {
      throw new InvalidMessageError('vcard', 'must be a vCard (BEGIN:VCARD … END:VCARD)');
    }
    return { displayName: contact.displayName, vcard: contact.vcard };
  }
  requireText(contact.name, 'name');
  const digits = typeof contact.phone === 'string' ? PHONE_DIGITS.exec(contact.phone.replace(/[\s().-]/g, ''))?.[1] : undefined;
  if (!digits) throw new InvalidMessageError('phone', 'must be a phone number of 5 to 20 digits');
  const name = escapeVcard(contact.name);
  const vcard = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${name}`, `N:;${name};;;`, `TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`, 'END:VCARD'].join('\n');
  return { displayName: contact.name, vcard };
}

function quoteOf(quoted: QuotedMessage, to: string, meJid: string): proto.IContextInfo {
  const key = toBaileysKey(quoted, 'quoted');
  const author = quoted.fromMe ? meJid : (quoted.participant ?? quoted.chat);
  return {
    stanzaId: key.id,
    participant: author,
    ...(quoted.chat !== to ? { remoteJid: quoted.chat } : {}),
    ...(typeof quoted.text === 'string' ? { quotedMessage: { conversation: quoted.text } } : {}),
  };
}

function media(message: { data: unknown; mimetype: unknown }): Buffer {
  if (!Buffer.isBuffer(message.data) || message.data.length === 0) throw new InvalidMessageError('data', 'must hold the media bytes');
  requireText(message.mimetype, 'mimetype');
  return message.data;
}

function location(latitude: unknown, longitude: unknown, name?: string, address?: string): proto.Message.ILocationMessage {
  if (typeof latitude !== 'number' || !(latitude >= -90 && latitude <= 90)) throw new InvalidMessageError('latitude', 'must be a number from -90 to 90');
  if (typeof longitude !== 'number' || !(longitude >= -180 && longitude <= 180)) {
    throw new InvalidMessageError('longitude', 'must be a number from -180 to 180');
  }
  return { degreesLatitude: latitude, degreesLongitude: longitude, name, address };
}

function requireText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidMessageError(field, 'must be a non-empty string');
}

function escapeVcard(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/([,;])/g, '\\$1');
}
