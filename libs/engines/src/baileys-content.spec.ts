import { contactCard, offlinePreview, toBaileysContent } from './baileys-content';
import { InvalidMessageError } from './engine.errors';
import type { OutgoingMessage } from './outgoing-message';

const ME = '15550001000@s.whatsapp.net';
const TO = '15550002000@s.whatsapp.net';
const base = { id: '3EB0ABCDEF0123456789AB', to: TO };

describe('toBaileysContent', () => {
  it('turns a reply with mentions into context info that names the quoted author', () => {
    const content = toBaileysContent(
      { ...base, kind: 'text', text: 'hi @15550003000', mentions: ['15550003000@s.whatsapp.net'], quoted: { id: 'ABC', chat: TO, fromMe: true, text: 'q' } },
      ME,
    );

    expect(content).toEqual({
      text: 'hi @15550003000',
      linkPreview: null,
      mentions: ['15550003000@s.whatsapp.net'],
      contextInfo: { stanzaId: 'ABC', participant: ME, quotedMessage: { conversation: 'q' } },
    });
  });

  it('quotes the other person, and a message of another chat by its chat', () => {
    const content = toBaileysContent({ ...base, kind: 'text', text: 'x', quoted: { id: 'ABC', chat: '15550004000@s.whatsapp.net', fromMe: false } }, ME);

    expect(content).toMatchObject({ contextInfo: { stanzaId: 'ABC', participant: '15550004000@s.whatsapp.net', remoteJid: '15550004000@s.whatsapp.net' } });
  });

  it('reacts with the target key as this account sees it, and never quotes a reaction', () => {
    const content = toBaileysContent(
      { ...base, kind: 'reaction', target: { id: 'ABC', chat: TO, fromMe: false }, emoji: '', quoted: { id: 'X', chat: TO, fromMe: true } },
      ME,
    );

    expect(content).toEqual({ react: { text: '', key: { remoteJid: TO, id: 'ABC', fromMe: false } } });
  });

  it('maps each kind to the Baileys field WhatsApp expects', () => {
    const data = Buffer.from('bytes');
    const kinds: Array<[OutgoingMessage, Record<string, unknown>]> = [
      [{ ...base, kind: 'audio', data, mimetype: 'audio/ogg', voice: true }, { audio: data, ptt: true }],
      [{ ...base, kind: 'document', data, mimetype: 'application/pdf', fileName: 'a.pdf' }, { document: data, fileName: 'a.pdf' }],
      [{ ...base, kind: 'location', latitude: 1.5, longitude: -2 }, { location: { degreesLatitude: 1.5, degreesLongitude: -2 } }],
      [{ ...base, kind: 'sticker', data, mimetype: 'image/webp' }, { sticker: data, mimetype: 'image/webp' }],
    ];
    for (const [message, expected] of kinds) expect(toBaileysContent(message, ME)).toMatchObject(expected);
  });

  it.each<[string, OutgoingMessage]>([
    ['to', { ...base, to: '15550002000:3@s.whatsapp.net', kind: 'text', text: 'device jid' }],
    ['to', { ...base, to: 'status@broadcast', kind: 'text', text: 'status' }],
    ['id', { ...base, id: '', kind: 'text', text: 'x' }],
    ['data', { ...base, kind: 'image', data: Buffer.alloc(0), mimetype: 'image/jpeg' }],
    ['fileName', { ...base, kind: 'document', data: Buffer.from('x'), mimetype: 'application/pdf', fileName: '' }],
    ['longitude', { ...base, kind: 'location', latitude: 0, longitude: 181 }],
    ['vcard', { ...base, kind: 'contact', displayName: 'A', vcard: 'not a card' }],
    ['target.chat', { ...base, kind: 'reaction', target: { id: 'A', chat: 'nobody', fromMe: true }, emoji: '👍' }],
    ['mentions[0]', { ...base, kind: 'text', text: 'x', mentions: ['someone'] }],
  ])('refuses a bad %s', (field, message) => {
    let error: unknown;
    try {
      toBaileysContent(message, ME);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error).toMatchObject({ field, status: 400, code: 'invalid_message' });
  });
});

describe('offlinePreview', () => {
  it('previews the first URL by its host, without fetching anything', () => {
    expect(offlinePreview('see http://a.example/x and https://b.example')).toEqual({
      'matched-text': 'http://a.example/x',
      'canonical-url': 'http://a.example/x',
      title: 'a.example',
    });
  });

  it('has nothing to preview in a text without a URL', () => {
    expect(offlinePreview('no link here')).toBeNull();
  });
});

describe('contactCard', () => {
  it('builds a vCard with the WhatsApp id of the number, escaping the name', () => {
    const card = contactCard({ kind: 'contact', name: 'Ana, Bia; C', phone: '+55 (11) 99999-0000' });

    expect(card.displayName).toBe('Ana, Bia; C');
    expect(card.vcard.split('\n')).toEqual([
      'BEGIN:VCARD',
      'VERSION:3.0',
      'FN:Ana\\, Bia\\; C',
      'N:;Ana\\, Bia\\; C;;;',
      'TEL;type=CELL;type=VOICE;waid=5511999990000:+5511999990000',
      'END:VCARD',
    ]);
  });
});
