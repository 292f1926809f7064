import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Agent, get } from 'node:https';
import { getMediaKeys, proto, type MediaType, type UserFacingSocketConfig, type WAMessageUpdate } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { connect, copyAuthState, nextUpdate, opened, pairAndLogin, type Socket } from './baileys-client';
import { unrefBaileysTimers } from './baileys-timers';
import { useSim } from './sim-fixture';

const SENDER = '15550004444';
const { PENDING, DELIVERY_ACK, READ, PLAYED, ERROR } = proto.WebMessageInfo.Status;
/** Past the last receipt the sim would send (three, each 150 ms after the one before). */
const RECEIPTS_SETTLED_MS = 600;
const jid = (phone: string) => `${phone}@s.whatsapp.net`;

/** The client options a sender needs here: trust in the sim's media host, and no wait for history. */
function clientOptions(sim: WaSimServer): Partial<UserFacingSocketConfig> {
  return {
    fetchAgent: new Agent({ ca: sim.mediaCertificate() }),
    // Without a phone to send history, a first login would buffer every event 20 s waiting for it.
    shouldSyncHistoryMessage: () => false,
  };
}

// One sender logs in once for the block (a login costs seconds); each test sends to numbers of its own.
describe('wa-sim: messages an unmodified Baileys client sends', () => {
  let sim: WaSimServer;
  let port: number;
  let socket: Socket;
  const track = useSim((started, at) => ([sim, port] = [started, at]), { scope: 'all' });
  beforeAll(async () => {
    ({ socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, SENDER), track, clientOptions(sim)));
  });

  it('acks a text and reports it delivered, then read, in that order', async () => {
    const recipient = '15550005501';
    const statuses = statusesOf(socket);

    const sent = await socket.sendMessage(jid(recipient), { text: 'hello there' });

    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    await waitFor(() => sim.messagesTo(recipient)[0]?.text !== undefined);
    expect(sim.messagesTo(recipient)).toEqual([
      expect.objectContaining({ id: sent!.key.id, to: jid(recipient), from: `${SENDER}:1@s.whatsapp.net`, type: 'text', copies: 1, text: 'hello there' }),
    ]);
    expect(sim.stats().messagesByRecipient[jid(recipient)]).toBe(1);
  });

  it('reports a voice note played after delivered and read', async () => {
    const recipient = '15550005502';
    const statuses = statusesOf(socket);

    const sent = await socket.sendMessage(jid(recipient), {
      audio: randomBytes(2_000),
      ptt: true,
      mimetype: 'audio/ogg; codecs=opus',
      seconds: 2,
    });

    await waitFor(() => statuses(sent!.key.id!).length >= 3);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ, PLAYED]);
    expect(sim.messagesTo(recipient)).toEqual([expect.objectContaining({ id: sent!.key.id, type: 'media', mediaType: 'ptt' })]);
  });

  it('refuses messages to a failing recipient with no receipt, until the failure is cleared', async () => {
    const recipient = '15550005503';
    const statuses = statusesOf(socket);
    sim.failRecipient(recipient, { mode: 'error', code: 479 });

    const refused = await socket.sendMessage(jid(recipient), { text: 'anyone there?' });
    await waitFor(() => statuses(refused!.key.id!).length >= 1);
    await sleep(RECEIPTS_SETTLED_MS);

    expect(statuses(refused!.key.id!)).toEqual([ERROR]);
    expect(sim.messagesTo(recipient)).toEqual([]);
    expect(sim.stats().messagesByRecipient[jid(recipient)]).toBeUndefined();

    sim.clearRecipientFailure(recipient);
    const delivered = await socket.sendMessage(jid(recipient), { text: 'there you are' });
    await waitFor(() => statuses(delivered!.key.id!).length >= 2);

    expect(statuses(delivered!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    expect(sim.stats().messagesByRecipient[jid(recipient)]).toBe(1);
  });

  it('acks but does not confirm a message to an offline recipient until it is back online', async () => {
    const recipient = '15550005504';
    const statuses = statusesOf(socket);
    sim.failRecipient(recipient, { mode: 'offline' });

    const sent = await socket.sendMessage(jid(recipient), { text: 'later then' });
    await waitFor(() => sim.messagesTo(recipient).length === 1);
    await sleep(RECEIPTS_SETTLED_MS);

    expect(statuses(sent!.key.id!)).toEqual([]);
    expect(sim.stats().messagesByRecipient[jid(recipient)]).toBe(1);

    sim.clearRecipientFailure(recipient);
    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
  });

  it('counts a resent message id once per recipient, and the same id to another recipient apart', async () => {
    const [recipient, other] = ['15550005505', '15550005506'];
    const first = await socket.sendMessage(jid(recipient), { text: 'once' });
    const id = first!.key.id!;

    await socket.sendMessage(jid(recipient), { text: 'once' }, { messageId: id });
    await socket.sendMessage(jid(other), { text: 'once' }, { messageId: id });

    await waitFor(() => sim.messagesTo(recipient)[0]?.copies === 2 && sim.messagesTo(other).length === 1);
    expect(sim.messagesTo(recipient)).toEqual([expect.objectContaining({ id, copies: 2 })]);
    expect(sim.stats().messagesByRecipient).toMatchObject({ [jid(recipient)]: 1, [jid(other)]: 1 });
  });

  it('takes an image upload over TLS, serves it back by its direct path, and delivers the message', async () => {
    const recipient = '15550005507';
    const statuses = statusesOf(socket);
    const original = randomBytes(50_000);

    const sent = await socket.sendMessage(jid(recipient), { image: original, caption: 'a picture', jpegThumbnail: '' });

    const image = sent!.message!.imageMessage!;
    const stored = sim.mediaAt(image.directPath!);
    expect(stored).toBeDefined();
    expect(createHash('sha256').update(stored!).digest()).toEqual(Buffer.from(image.fileEncSha256!));
    expect(await decryptMedia(stored!, image.mediaKey!, 'image')).toEqual(original);
    expect(await httpsGet(image.url!, sim.mediaCertificate())).toEqual(stored);
    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    await waitFor(() => sim.messagesTo(recipient)[0]?.text !== undefined);
    expect(sim.messagesTo(recipient)[0]).toMatchObject({ type: 'media', mediaType: 'image', text: 'a picture' });
  });

  it('decodes what the recipient was sent: location, contact, reply, reaction, edit, revoke and media', async () => {
    const recipient = '15550005511';
    const to = jid(recipient);
    const call = controlApi(port);
    const document = randomBytes(5_000);

    // Baileys later writes into messages it returned (the revoked one's key, say), so ids are read at once.
    const send = async (...args: Parameters<Socket['sendMessage']>) => (await socket.sendMessage(...args))!.key.id!;
    const first = await socket.sendMessage(to, { text: 'first', mentions: [jid('15550005512')] });
    const key = { ...first!.key };
    const ids = [
      key.id!,
      await send(to, { location: { degreesLatitude: 10.5, degreesLongitude: -20.25, name: 'here' } }),
      await send(to, { contacts: { displayName: 'Al', contacts: [{ displayName: 'Al', vcard: 'BEGIN:VCARD\nFN:Al\nEND:VCARD' }] } }),
      await send(to, { text: 'reply' }, { quoted: first! }),
      await send(to, { react: { text: '👍', key: { ...key } } }),
      await send(to, { text: 'first!', edit: { ...key } }),
      await send(to, { delete: { ...key } }),
      await send(to, { document, mimetype: 'application/pdf', fileName: 'a.pdf' }),
    ];
    await waitFor(() => ids.every((id) => sim.messagesTo(recipient).some((message) => message.id === id && message.content)));

    const { body } = await call('GET', `/recipients/${recipient}/messages`);
    const content = (id: string) => body.data.find((message: { id: string }) => message.id === id)?.content;
    expect(content(ids[0]!)).toEqual({ kind: 'text', text: 'first', mentions: [jid('15550005512')] });
    expect(content(ids[1]!)).toEqual({ kind: 'location', location: { latitude: 10.5, longitude: -20.25, name: 'here' } });
    expect(content(ids[2]!)).toEqual({ kind: 'contact', contact: { displayName: 'Al', vcard: 'BEGIN:VCARD\nFN:Al\nEND:VCARD' } });
    expect(content(ids[3]!)).toEqual({ kind: 'text', text: 'reply', quotedId: key.id });
    expect(content(ids[4]!)).toEqual({ kind: 'reaction', target: { id: key.id, fromMe: true }, emoji: '👍' });
    expect(content(ids[5]!)).toEqual({ kind: 'edit', target: { id: key.id, fromMe: true }, text: 'first!' });
    expect(content(ids[6]!)).toEqual({ kind: 'revoke', target: { id: key.id, fromMe: true } });
    expect(content(ids[7]!)).toEqual({
      kind: 'document',
      media: { mimetype: 'application/pdf', fileName: 'a.pdf', size: document.length, sha256: createHash('sha256').update(document).digest('hex'), decrypted: true },
    });
  });

  it('keeps the typing indicators a client sends, and its presence, without answering them', async () => {
    const recipient = '15550005513';
    const call = controlApi(port);

    await socket.sendPresenceUpdate('composing', jid(recipient));
    await socket.sendPresenceUpdate('recording', jid(recipient));
    await socket.sendPresenceUpdate('paused', jid(recipient));
    await socket.sendNode({ tag: 'presence', attrs: { type: 'unavailable', name: 'Tester' } });
    await waitFor(() => sim.chatstatesTo(recipient).length === 3);

    expect(await call('GET', `/recipients/${recipient}/chatstates`)).toEqual({
      status: 200,
      body: {
        data: ['composing', 'recording', 'paused'].map((state) => ({ from: SENDER, state, at: expect.any(Number) })),
      },
    });
    await waitFor(() => sim.listAccounts()[0]?.presence === 'unavailable');
    expect(sim.listAccounts()).toEqual([expect.objectContaining({ phone: SENDER, live: 1, conflicts: 0, presence: 'unavailable' })]);
  });

  it('fails, clears and lists a recipient through the control API', async () => {
    const recipient = '15550005509';
    const call = controlApi(port);
    const statuses = statusesOf(socket);

    expect(await call('POST', `/recipients/${recipient}/fail`, { mode: 'error', code: 463 })).toEqual({
      status: 200,
      body: { phone: recipient, failure: { mode: 'error', code: 463 } },
    });
    const refused = await socket.sendMessage(jid(recipient), { text: 'no' });
    await waitFor(() => statuses(refused!.key.id!).length >= 1);
    expect(statuses(refused!.key.id!)).toEqual([ERROR]);
    expect(await call('GET', `/recipients/${recipient}/messages`)).toEqual({ status: 200, body: { data: [] } });

    expect(await call('DELETE', `/recipients/${recipient}/fail`)).toEqual({ status: 200, body: { phone: recipient, failure: null } });
    const sent = await socket.sendMessage(jid(recipient), { text: 'yes' });
    await waitFor(() => statuses(sent!.key.id!).length >= 2 && sim.messagesTo(recipient)[0]?.text !== undefined);

    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    expect(await call('GET', `/recipients/${recipient}/messages`)).toEqual({
      status: 200,
      body: {
        data: [
          {
            id: sent!.key.id,
            to: jid(recipient),
            from: `${SENDER}:1@s.whatsapp.net`,
            type: 'text',
            at: expect.any(Number),
            copies: 1,
            text: 'yes',
            content: { kind: 'text', text: 'yes' },
          },
        ],
      },
    });
    expect((await call('GET', '/stats')).body.messagesByRecipient[jid(recipient)]).toBe(1);
  });
});

describe('wa-sim control API: recipients and media without a client', () => {
  let sim: WaSimServer;
  let call: ReturnType<typeof controlApi>;
  useSim((started, at) => ([sim, call] = [started, controlApi(at)]));

  it('hands out the media host certificate', async () => {
    const { status, body } = await call('GET', '/media/certificate');

    expect(status).toBe(200);
    expect(body.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(body.certificate).toBe(sim.mediaCertificate());
  });

  it('answers 400 naming what is wrong', async () => {
    const badMode = await call('POST', '/recipients/15550005510/fail', { mode: 'sometimes' });
    const badCode = await call('POST', '/recipients/15550005510/fail', { mode: 'error', code: 200 });
    const badPhone = await call('POST', '/recipients/not-a-phone/fail', { mode: 'offline' });
    const notJson = await call('POST', '/recipients/15550005510/fail', '{"mode":');

    expect(badMode).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"mode"') } } });
    expect(badCode).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"code"') } } });
    expect(badPhone).toEqual({ status: 400, body: { error: { code: 'invalid_phone', message: expect.stringContaining('not-a-phone') } } });
    expect(notJson).toEqual({ status: 400, body: { error: { code: 'invalid_json', message: expect.any(String) } } });
  });

  it('answers 404 for an unknown recipient route or method', async () => {
    expect(await call('GET', '/recipients/15550005510/nope')).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route GET /recipients/15550005510/nope' } },
    });
    expect(await call('PUT', '/recipients/15550005510/fail', { mode: 'offline' })).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route PUT /recipients/15550005510/fail' } },
    });
    expect(await call('GET', '/recipients/15550005510/messages')).toEqual({ status: 200, body: { data: [] } });
  });
});

describe('wa-sim: a message resent by a restarted client', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  it('counts the resend of a message id once', async () => {
    // The first client ends with its last privacy-token iq in flight, whose 60 s timeout would hold jest.
    const restoreTimers = unrefBaileysTimers();
    try {
      const recipient = '15550005508';
      const { auth, socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, SENDER), track, clientOptions(sim));
      const sent = await socket.sendMessage(jid(recipient), { text: 'once' });
      await waitFor(() => sim.messagesTo(recipient).length === 1);

      // A client that crashed after sending resends from its stored state, with the same id.
      const saved = copyAuthState(auth);
      socket.end(undefined);
      const restarted = track(connect(port, saved, undefined, clientOptions(sim)));
      await nextUpdate(restarted, opened);
      await restarted.sendMessage(jid(recipient), { text: 'once' }, { messageId: sent!.key.id! });
      await waitFor(() => sim.messagesTo(recipient)[0]?.copies === 2);

      expect(sim.messagesTo(recipient)).toEqual([expect.objectContaining({ id: sent!.key.id, copies: 2, text: 'once' })]);
      expect(sim.stats().messagesByRecipient).toEqual({ [jid(recipient)]: 1 });
    } finally {
      restoreTimers();
    }
  });

  it('keeps the receipts that came while the sender was offline, and delivers them at its next login', async () => {
    const restoreTimers = unrefBaileysTimers();
    try {
      const recipient = '15550005509';
      const { auth, socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, SENDER), track, clientOptions(sim));
      const saved = copyAuthState(auth);
      const sent = await socket.sendMessage(jid(recipient), { text: 'read this while I am away' });
      // Gone before the first receipt (150 ms after the message): delivered and read both come while offline.
      socket.end(undefined);
      await waitFor(() => sim.listAccounts().find((account) => account.phone === SENDER)?.live === 0);
      await sleep(RECEIPTS_SETTLED_MS);

      const restarted = track(connect(port, saved, undefined, clientOptions(sim)));
      const statuses = statusesOf(restarted);
      await nextUpdate(restarted, opened);
      await waitFor(() => statuses(sent!.key.id!).includes(READ));

      // Baileys may fold the two into one update, as it does for any burst.
      expect(statuses(sent!.key.id!).at(-1)).toBe(READ);
      expect(statuses(sent!.key.id!).every((status) => status === DELIVERY_ACK || status === READ)).toBe(true);
    } finally {
      restoreTimers();
    }
  });
});

function controlApi(port: number) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(res.headers.get('content-type')).toBe('application/json');
    return { status: res.status, body: await res.json() };
  };
}

/**
 * Every status a client learns for each message id, in arrival order, past PENDING. Baileys holds a
 * send's events for 100 ms and folds an update arriving meanwhile (an ack's ERROR) into the upsert of
 * the message itself, so upserts count too.
 */
function statusesOf(socket: Socket): (id: string) => number[] {
  const seen = new Map<string, number[]>();
  const note = (id: string | null | undefined, status: number | null | undefined) => {
    if (!id || status === undefined || status === null || status === PENDING) return;
    seen.set(id, [...(seen.get(id) ?? []), status]);
  };
  socket.ev.on('messages.upsert', ({ messages }) => messages.forEach((m) => m.key.fromMe && note(m.key.id, m.status)));
  socket.ev.on('messages.update', (updates: WAMessageUpdate[]) => updates.forEach((u) => note(u.key.id, u.update.status)));
  return (id) => seen.get(id) ?? [];
}

/** WhatsApp media encryption: AES-256-CBC over all but the trailing 10-byte MAC. */
async function decryptMedia(encrypted: Buffer, mediaKey: Uint8Array, type: MediaType): Promise<Buffer> {
  const { cipherKey, iv } = await getMediaKeys(mediaKey, type);
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  return Buffer.concat([decipher.update(encrypted.subarray(0, -10)), decipher.final()]);
}

function httpsGet(url: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${condition.toString()}`);
    await sleep(10);
  }
}
