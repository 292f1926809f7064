import { proto, type WAMessage } from 'baileys';
import { toInboundMessage } from './baileys-inbound';

const ME = '15550001000:2@s.whatsapp.net';
const PEER = '15550002000@s.whatsapp.net';
const at = 1_790_000_000;

function raw(message: proto.IMessage, key: Partial<WAMessage['key']> = {}): WAMessage {
  return { key: { remoteJid: PEER, fromMe: false, id: 'MSG1', participant: '', ...key }, message, messageTimestamp: at } as WAMessage;
}

describe('toInboundMessage', () => {
  const common = { id: 'MSG1', chat: PEER, sender: PEER, fromMe: false, timestamp: new Date(at * 1000).toISOString() };

  it('reads a reply with mentions', () => {
    const message = raw({ extendedTextMessage: { text: 'hi', contextInfo: { stanzaId: 'Q1', mentionedJid: ['15550003000@s.whatsapp.net'] } } });

    expect(toInboundMessage(message, ME)).toEqual({ ...common, kind: 'text', text: 'hi', quotedId: 'Q1', mentions: ['15550003000@s.whatsapp.net'] });
  });

  it('names the account itself as the sender of its own messages from other devices', () => {
    expect(toInboundMessage(raw({ conversation: 'from my phone' }, { fromMe: true }), ME)).toMatchObject({
      sender: '15550001000@s.whatsapp.net',
      fromMe: true,
    });
  });

  it('prefers the phone-number JID when WhatsApp addresses a chat by LID', () => {
    const message = raw({ conversation: 'x' }, { remoteJid: '123456789@lid', remoteJidAlt: PEER } as never);

    expect(toInboundMessage(message, ME)).toMatchObject({ chat: PEER, sender: PEER });
  });

  it('describes media with what a download needs, as base64 strings', () => {
    const message = raw({
      audioMessage: { mimetype: 'audio/ogg', ptt: true, seconds: 4, fileLength: 1234, directPath: '/v/x.enc', url: 'https://h.example/v/x.enc', mediaKey: Buffer.from([1, 2]), fileSha256: Buffer.from([3]), fileEncSha256: Buffer.from([4]) },
    });

    const inbound = toInboundMessage(message, ME);

    expect(inbound).toEqual({
      ...common,
      kind: 'audio',
      voice: true,
      media: {
        mimetype: 'audio/ogg',
        size: 1234,
        seconds: 4,
        download: { mediaType: 'audio', directPath: '/v/x.enc', url: 'https://h.example/v/x.enc', mediaKey: 'AQI=', fileSha256: 'Aw==', fileEncSha256: 'BA==' },
      },
    });
    expect(JSON.parse(JSON.stringify(inbound))).toEqual(inbound);
  });

  it('reads locations, contacts and a captioned document', () => {
    const location = raw({ locationMessage: { degreesLatitude: -1.5, degreesLongitude: 2.25, name: 'Here' } });
    const contact = raw({ contactMessage: { displayName: 'Al', vcard: 'BEGIN:VCARD\nFN:Al\nEND:VCARD' } });
    const document = raw({ documentWithCaptionMessage: { message: { documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf', caption: 'terms', directPath: '/d', mediaKey: Buffer.from([9]) } } } });

    expect(toInboundMessage(location, ME)).toEqual({ ...common, kind: 'location', location: { latitude: -1.5, longitude: 2.25, name: 'Here' } });
    expect(toInboundMessage(contact, ME)).toEqual({ ...common, kind: 'contact', contact: { displayName: 'Al', vcard: 'BEGIN:VCARD\nFN:Al\nEND:VCARD' } });
    expect(toInboundMessage(document, ME)).toEqual({
      ...common,
      kind: 'document',
      text: 'terms',
      media: { mimetype: 'application/pdf', fileName: 'a.pdf', download: { mediaType: 'document', directPath: '/d', mediaKey: 'CQ==' } },
    });
  });

  it('reads edits and deletes as acting on the sender’s own message', () => {
    const { Type } = proto.Message.ProtocolMessage;
    const edit = raw({ protocolMessage: { type: Type.MESSAGE_EDIT, key: { id: 'OLD', fromMe: true, remoteJid: ME }, editedMessage: { conversation: 'new' } } });
    const revoke = raw({ protocolMessage: { type: Type.REVOKE, key: { id: 'OLD', fromMe: true, remoteJid: ME } } });

    expect(toInboundMessage(edit, ME)).toEqual({ ...common, kind: 'edit', target: { id: 'OLD', chat: PEER, fromMe: false }, text: 'new' });
    expect(toInboundMessage(revoke, ME)).toEqual({ ...common, kind: 'delete', target: { id: 'OLD', chat: PEER, fromMe: false } });
  });

  it('reads a removed reaction as an empty emoji', () => {
    const message = raw({ reactionMessage: { key: { id: 'T', remoteJid: PEER, fromMe: true }, text: '' } });

    expect(toInboundMessage(message, ME)).toEqual({ ...common, kind: 'reaction', target: { id: 'T', chat: PEER, fromMe: true }, emoji: '' });
  });

  it('skips protocol plumbing and status broadcasts, and names what it cannot read', () => {
    const { Type } = proto.Message.ProtocolMessage;

    expect(toInboundMessage(raw({ protocolMessage: { type: Type.HISTORY_SYNC_NOTIFICATION } }), ME)).toBeUndefined();
    expect(toInboundMessage(raw({ conversation: 'story' }, { remoteJid: 'status@broadcast' }), ME)).toBeUndefined();
    expect(toInboundMessage(raw({ pollCreationMessage: { name: 'lunch?' } }), ME)).toEqual({ ...common, kind: 'unsupported', contentType: 'pollCreationMessage' });
  });
});
