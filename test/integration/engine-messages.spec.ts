import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  BaileysEngine,
  EngineNoPushNameError,
  EngineNotConnectedError,
  InvalidMessageError,
  newMessageId,
  type EngineCloseReason,
  type EngineMe,
  type InboundMessage,
  type MessageStatusUpdate,
  type OutgoingMessage,
} from '@wafleet/engines';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import type { DecodedContent } from '../../apps/wa-sim/src/decoded-content';
import { unrefBaileysTimers } from '../wa-sim/baileys-timers';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

const PHONE = '15550007000';
const SENDER = '15550007999';
const jid = (phone: string) => `${phone}@s.whatsapp.net`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Past the last receipt the sim sends (three, 150 ms apart) and Baileys' 100 ms event buffer. */
const RECEIPTS_SETTLED_MS = 800;

async function waitFor<T>(read: () => T, accept: (value: T) => boolean = Boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

// One engine pairs once for the file (a login costs seconds); each test writes to numbers of its own.
describe('BaileysEngine messages against wa-sim', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let restoreTimers: () => void;
  let sim: WaSimServer;
  let engine: BaileysEngine;
  const statuses: MessageStatusUpdate[] = [];
  const inbound: InboundMessage[] = [];
  const closes: EngineCloseReason[] = [];

  beforeAll(async () => {
    restoreTimers = unrefBaileysTimers();
    ({ database, dataSource, tenantId } = await migratedDatabase());
    sim = new WaSimServer();
    const port = await sim.start();
    const sessionId = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, lease_epoch) VALUES ($1, $2, $3, 1)`, [sessionId, tenantId, 'messages']);
    engine = new BaileysEngine({
      sessionId,
      epoch: 1,
      dataSource,
      waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
      mediaCertificate: sim.mediaCertificate(),
    });
    engine.on('status', (update) => statuses.push(update));
    engine.on('message', (message) => inbound.push(message));
    engine.on('close', (reason) => closes.push(reason));
    const qr = new Promise<string>((resolve) => engine.once('qr', resolve));
    const opened = new Promise<EngineMe>((resolve) => engine.once('open', resolve));
    await engine.start();
    await sim.scanQr(await qr, PHONE);
    await opened;
    // Inbound delivery waits for the device's pre-key upload, which follows the login.
    await waitFor(() => sim.accounts.findDevice(PHONE, 1)?.keyBundle);
  }, 60_000);

  afterAll(async () => {
    await engine?.stop();
    await sim?.stop();
    restoreTimers?.();
    await dataSource?.destroy();
    await database?.drop();
  });

  const statusesOf = (id: string) => statuses.filter((update) => update.id === id).map((update) => update.status);
  const received = (recipient: string, id: string) => sim.messagesTo(recipient).find((message) => message.id === id);
  /** What the recipient's phone decoded of message `id`, once it has. */
  const decoded = (recipient: string, id: string) => waitFor(() => received(recipient, id)?.content).then((content) => content as DecodedContent);

  it('sends every kind under the caller’s id, and the recipient decodes each one, media decrypted', async () => {
    const recipient = '15550007001';
    const to = jid(recipient);
    const image = randomBytes(30_000);
    const video = randomBytes(40_000);
    const voice = randomBytes(5_000);
    const song = randomBytes(6_000);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3_000)]);
    const sticker = Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBPVP8 '), randomBytes(2_000)]);
    const first = newMessageId();
    const messages: OutgoingMessage[] = [
      { id: first, to, kind: 'text', text: 'see https://example.com/page?a=1 now, @15550007002', linkPreview: true, mentions: [jid('15550007002')] },
      { id: newMessageId(), to, kind: 'text', text: 'a reply', quoted: { id: first, chat: to, fromMe: true, text: 'see …' } },
      { id: newMessageId(), to, kind: 'image', data: image, mimetype: 'image/jpeg', caption: 'a picture' },
      { id: newMessageId(), to, kind: 'video', data: video, mimetype: 'video/mp4', caption: 'a film' },
      { id: newMessageId(), to, kind: 'audio', data: voice, mimetype: 'audio/ogg; codecs=opus', voice: true, seconds: 3 },
      { id: newMessageId(), to, kind: 'audio', data: song, mimetype: 'audio/mpeg', voice: false, seconds: 4 },
      { id: newMessageId(), to, kind: 'document', data: pdf, mimetype: 'application/pdf', fileName: 'terms.pdf', caption: 'the terms' },
      { id: newMessageId(), to, kind: 'sticker', data: sticker, mimetype: 'image/webp' },
      { id: newMessageId(), to, kind: 'location', latitude: -23.55, longitude: -46.63, name: 'Sé', address: 'Praça da Sé' },
      { id: newMessageId(), to, kind: 'contact', name: 'Ana; Silva', phone: '+55 11 99999-0000' },
      { id: newMessageId(), to, kind: 'contact', displayName: 'Bo', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Bo\nEND:VCARD' },
      { id: newMessageId(), to, kind: 'reaction', target: { id: first, chat: to, fromMe: true }, emoji: '🎉' },
    ];

    const sent = [];
    for (const message of messages) sent.push(await engine.send(message));

    expect(sent.map(({ id, chat, kind }) => ({ id, chat, kind }))).toEqual(messages.map(({ id, kind }) => ({ id, chat: to, kind })));
    expect(sent[2]!.media).toMatchObject({ mimetype: 'image/jpeg', size: image.length, download: { mediaType: 'image' } });
    const contents = await Promise.all(messages.map((message) => decoded(recipient, message.id)));
    const [link, reply, img, vid, ptt, mp3, doc, stk, loc, card, vcard, reaction] = contents;
    expect(link).toEqual({
      kind: 'text',
      text: messages[0]!.kind === 'text' ? messages[0]!.text : '',
      mentions: [jid('15550007002')],
      linkPreview: { matchedText: 'https://example.com/page?a=1', title: 'example.com' },
    });
    expect(reply).toEqual({ kind: 'text', text: 'a reply', quotedId: first });
    expect(img).toMatchObject({ kind: 'image', caption: 'a picture', media: { mimetype: 'image/jpeg', decrypted: true, sha256: sha256(image) } });
    expect(vid).toMatchObject({ kind: 'video', caption: 'a film', media: { mimetype: 'video/mp4', decrypted: true, sha256: sha256(video) } });
    expect(ptt).toMatchObject({ kind: 'audio', media: { voice: true, seconds: 3, decrypted: true, sha256: sha256(voice) } });
    expect(mp3).toMatchObject({ kind: 'audio', media: { voice: false, mimetype: 'audio/mpeg', decrypted: true, sha256: sha256(song) } });
    expect(doc).toMatchObject({ kind: 'document', caption: 'the terms', media: { fileName: 'terms.pdf', decrypted: true, sha256: sha256(pdf) } });
    expect(stk).toMatchObject({ kind: 'sticker', media: { mimetype: 'image/webp', decrypted: true, sha256: sha256(sticker) } });
    expect(loc).toEqual({ kind: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'Sé', address: 'Praça da Sé' } });
    expect(card).toEqual({ kind: 'contact', contact: { displayName: 'Ana; Silva', vcard: expect.stringContaining('waid=5511999990000:+5511999990000') } });
    expect(card!.contact!.vcard).toContain('FN:Ana\\; Silva');
    expect(vcard).toEqual({ kind: 'contact', contact: { displayName: 'Bo', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Bo\nEND:VCARD' } });
    expect(reaction).toEqual({ kind: 'reaction', target: { id: first, fromMe: true }, emoji: '🎉' });
    expect(sim.stats().messagesByRecipient[to]).toBe(messages.length);
  });

  it('sends a text without a preview when none is asked for', async () => {
    const recipient = '15550007003';
    const id = newMessageId();

    await engine.send({ id, to: jid(recipient), kind: 'text', text: 'plain https://example.com' });

    expect(await decoded(recipient, id)).toEqual({ kind: 'text', text: 'plain https://example.com' });
  });

  it('reports sent, delivered and read in order, and played after them for a voice note', async () => {
    const recipient = '15550007004';
    const text = newMessageId();
    const voice = newMessageId();

    await engine.send({ id: text, to: jid(recipient), kind: 'text', text: 'hello' });
    await engine.send({ id: voice, to: jid(recipient), kind: 'audio', data: randomBytes(2_000), mimetype: 'audio/ogg; codecs=opus', voice: true });

    await waitFor(() => statusesOf(voice).includes('played'));
    await sleep(RECEIPTS_SETTLED_MS);
    expect(statusesOf(text)).toEqual(['sent', 'delivered', 'read']);
    expect(statusesOf(voice)).toEqual(['sent', 'delivered', 'read', 'played']);
    expect(statuses.find((update) => update.id === text)).toEqual({ id: text, chat: jid(recipient), status: 'sent' });
  });

  it('reports failed, with WhatsApp’s code, for a recipient the server refuses', async () => {
    const recipient = '15550007005';
    sim.failRecipient(recipient, { mode: 'error', code: 479 });
    const id = newMessageId();

    await engine.send({ id, to: jid(recipient), kind: 'text', text: 'anyone?' });

    await waitFor(() => statusesOf(id).length > 0);
    await sleep(RECEIPTS_SETTLED_MS);
    expect(statuses.filter((update) => update.id === id)).toEqual([{ id, chat: jid(recipient), status: 'failed', error: '479' }]);
    expect(received(recipient, id)).toBeUndefined();
  });

  it('counts a resend under the same id once at the recipient', async () => {
    const recipient = '15550007006';
    const message: OutgoingMessage = { id: newMessageId(), to: jid(recipient), kind: 'text', text: 'only once' };

    await engine.send(message);
    await engine.send(message);

    await waitFor(() => received(recipient, message.id)?.copies === 2);
    expect(sim.stats().messagesByRecipient[jid(recipient)]).toBe(1);
    expect((await decoded(recipient, message.id)).text).toBe('only once');
  });

  it('edits and deletes its own message for everyone, each under the id the caller chose', async () => {
    const recipient = '15550007007';
    const to = jid(recipient);
    const original = newMessageId();
    await engine.send({ id: original, to, kind: 'text', text: 'teh typo' });
    const target = { id: original, chat: to, fromMe: true };

    const edit = await engine.edit(target, 'the typo', newMessageId());
    const revoke = await engine.deleteForEveryone(target);

    expect(edit).toMatchObject({ chat: to, kind: 'edit' });
    expect(revoke).toMatchObject({ chat: to, kind: 'delete', id: expect.stringMatching(/^3EB0/) });
    expect(await decoded(recipient, edit.id)).toEqual({ kind: 'edit', target: { id: original, fromMe: true }, text: 'the typo' });
    expect(await decoded(recipient, revoke.id)).toEqual({ kind: 'revoke', target: { id: original, fromMe: true } });
    expect(received(recipient, edit.id)?.edit).toBe('1');
    expect(received(recipient, revoke.id)?.edit).toBe('7');
    await expect(engine.edit({ ...target, fromMe: false }, 'not mine')).rejects.toBeInstanceOf(InvalidMessageError);
  });

  it('receives text, image, reaction, edit and delete as normalized messages, and downloads the image from any engine', async () => {
    const image = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(20_000)]);
    const mine = newMessageId();
    await engine.send({ id: mine, to: jid(SENDER), kind: 'text', text: 'what do you think?' });

    const text = await sim.deliverMessage(PHONE, { from: SENDER, text: 'hi there' });
    const picture = await sim.deliverImage(PHONE, { from: SENDER, image: { data: image, mimetype: 'image/png', caption: 'look' } });
    const reaction = await sim.deliverAction(PHONE, { from: SENDER, action: { type: 'reaction', target: mine, emoji: '👍' } });
    const edit = await sim.deliverAction(PHONE, { from: SENDER, action: { type: 'edit', target: text.id, text: 'hi there!' } });
    const revoke = await sim.deliverAction(PHONE, { from: SENDER, action: { type: 'revoke', target: picture.id } });

    const byId = (id: string) => inbound.find((message) => message.id === id);
    await waitFor(() => [text, picture, reaction, edit, revoke].every(({ id }) => byId(id)));
    const common = { chat: jid(SENDER), sender: jid(SENDER), fromMe: false, timestamp: expect.stringMatching(/Z$/) };
    expect(byId(text.id)).toEqual({ ...common, id: text.id, kind: 'text', text: 'hi there' });
    expect(byId(picture.id)).toEqual({
      ...common,
      id: picture.id,
      kind: 'image',
      text: 'look',
      media: { mimetype: 'image/png', size: image.length, download: expect.objectContaining({ mediaType: 'image' }) },
    });
    expect(byId(reaction.id)).toEqual({ ...common, id: reaction.id, kind: 'reaction', target: { id: mine, chat: jid(SENDER), fromMe: true }, emoji: '👍' });
    expect(byId(edit.id)).toEqual({ ...common, id: edit.id, kind: 'edit', target: { id: text.id, chat: jid(SENDER), fromMe: false }, text: 'hi there!' });
    expect(byId(revoke.id)).toEqual({ ...common, id: revoke.id, kind: 'delete', target: { id: picture.id, chat: jid(SENDER), fromMe: false } });

    // The descriptor survives JSON, and an engine that never started (another replica) downloads it too.
    const stored = JSON.parse(JSON.stringify(byId(picture.id))) as InboundMessage;
    const replica = new BaileysEngine({ sessionId: randomUUID(), epoch: 1, dataSource, mediaCertificate: sim.mediaCertificate() });
    for (const downloader of [engine, replica]) {
      const downloaded = await downloader.downloadMedia(stored as { media?: never });
      expect(downloaded.mimetype).toBe('image/png');
      expect(Buffer.compare(downloaded.data, image)).toBe(0);
    }
  });

  it('marks received messages read: the sender’s server records the read receipt', async () => {
    const delivered = await sim.deliverMessage(PHONE, { from: SENDER, text: 'read me' });
    await waitFor(() => inbound.some((message) => message.id === delivered.id));

    await engine.markRead([{ id: delivered.id, chat: jid(SENDER), fromMe: false }]);

    const read = await waitFor(() => sim.inbox(PHONE).find((message) => message.id === delivered.id)?.readAt);
    expect(read).toBeGreaterThan(0);
  });

  it('sends typing, recording and paused to a chat; refuses online presence until it knows its name', async () => {
    const recipient = '15550007008';

    await engine.sendPresence(jid(recipient), 'composing');
    await engine.sendPresence(jid(recipient), 'recording');
    await engine.sendPresence(jid(recipient), 'paused');
    await expect(engine.sendPresence(jid(recipient), 'available')).rejects.toBeInstanceOf(EngineNoPushNameError);

    const states = await waitFor(() => sim.chatstatesTo(recipient), (list) => list.length === 3);
    expect(states.map(({ from, state }) => ({ from, state }))).toEqual([
      { from: PHONE, state: 'composing' },
      { from: PHONE, state: 'recording' },
      { from: PHONE, state: 'paused' },
    ]);
  });

  it('refuses bad recipients and content with InvalidMessageError, naming the field', async () => {
    const id = newMessageId();
    const refusals = [
      engine.send({ id, to: 'not-a-jid', kind: 'text', text: 'x' }),
      engine.send({ id, to: jid('15550007009'), kind: 'text', text: '' }),
      engine.send({ id: 'has spaces', to: jid('15550007009'), kind: 'text', text: 'x' }),
      engine.send({ id, to: jid('15550007009'), kind: 'sticker', data: randomBytes(10), mimetype: 'image/png' }),
      engine.send({ id, to: jid('15550007009'), kind: 'location', latitude: 91, longitude: 0 }),
      engine.send({ id, to: jid('15550007009'), kind: 'contact', name: 'X', phone: 'call me' }),
    ];
    const fields = [];
    for (const refusal of refusals) {
      const error = await refusal.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidMessageError);
      fields.push((error as InvalidMessageError).field);
    }
    expect(fields).toEqual(['to', 'text', 'id', 'mimetype', 'latitude', 'phone']);
    expect(sim.messagesTo('15550007009')).toEqual([]);
  });

  it('kept one connection throughout: no conflict, no close', () => {
    expect(sim.stats()).toMatchObject({ logins: 1, conflicts: 0, live: 1 });
    expect(closes).toEqual([]);
  });

  it('never reported one of its own sends, edits or deletes as a received message', () => {
    // Baileys echoes each as an `append` upsert, the kind that also carries what waited offline.
    expect(statuses.length).toBeGreaterThan(0);
    expect(inbound.filter((message) => message.fromMe)).toEqual([]);
  });
});

describe('BaileysEngine messages while not connected', () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    ({ database, dataSource } = await migratedDatabase());
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('rejects every call that needs WhatsApp with EngineNotConnectedError (409), at once', async () => {
    const engine = new BaileysEngine({ sessionId: randomUUID(), epoch: 1, dataSource });
    const key = { id: newMessageId(), chat: jid('15550007010'), fromMe: true };

    const calls = [
      engine.send({ id: key.id, to: key.chat, kind: 'text', text: 'x' }),
      engine.edit(key, 'y'),
      engine.deleteForEveryone(key),
      engine.markRead([{ ...key, fromMe: false }]),
      engine.sendPresence(key.chat, 'composing'),
    ];
    for (const call of calls) {
      const error = await call.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(EngineNotConnectedError);
      expect(error).toMatchObject({ status: 409, code: 'session_not_connected', state: 'stopped' });
    }
  });
});
