import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Agent, get } from 'node:https';
import { getMediaKeys, proto, type MediaType, type UserFacingSocketConfig, type WAMessageUpdate } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { connect, copyAuthState, nextUpdate, opened, pairAndLogin, type Socket } from './baileys-client';
import { unrefBaileysTimers } from './baileys-timers';
import { useSim } from './sim-fixture';

const SENDER = '15550004444';
const RECIPIENT = '15550005555';
const OTHER = '15550006666';
const { PENDING, DELIVERY_ACK, READ, PLAYED, ERROR } = proto.WebMessageInfo.Status;
/** Past the last receipt the sim would send (three at the default 150 ms apart). */
const RECEIPTS_SETTLED_MS = 600;

describe('wa-sim: messages an unmodified Baileys client sends', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));

  let CLIENT_OPTIONS: Partial<UserFacingSocketConfig>;
  beforeEach(() => {
    CLIENT_OPTIONS = {
      fetchAgent: new Agent({ ca: sim.mediaCertificate() }),
      // Without a phone to send history, a first login would buffer events 20 s waiting for it.
      shouldSyncHistoryMessage: () => false,
    };
  });

  async function loggedIn(phone = SENDER): Promise<Socket> {
    const { socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, phone), track, CLIENT_OPTIONS);
    return socket;
  }

  it('acks a text and reports it delivered, then read, in that order', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);

    const sent = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, { text: 'hello there' });

    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    const [arrived] = sim.messagesTo(RECIPIENT);
    expect(arrived).toMatchObject({ id: sent!.key.id, to: `${RECIPIENT}@s.whatsapp.net`, from: `${SENDER}:1@s.whatsapp.net`, type: 'text', copies: 1 });
    await waitFor(() => sim.messagesTo(RECIPIENT)[0]?.text !== undefined);
    expect(sim.messagesTo(RECIPIENT)[0]?.text).toBe('hello there');
    expect(sim.stats().messagesByRecipient).toEqual({ [`${RECIPIENT}@s.whatsapp.net`]: 1 });
  });

  it('reports a voice note played after delivered and read', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);

    const sent = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, {
      audio: randomBytes(2_000),
      ptt: true,
      mimetype: 'audio/ogg; codecs=opus',
      seconds: 2,
    });

    await waitFor(() => statuses(sent!.key.id!).length >= 3);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ, PLAYED]);
    expect(sim.messagesTo(RECIPIENT)).toEqual([expect.objectContaining({ id: sent!.key.id, type: 'media', mediaType: 'ptt' })]);
  });

  it('refuses messages to a failing recipient with no receipt, until the failure is cleared', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);
    sim.failRecipient(RECIPIENT, { mode: 'error', code: 479 });

    const refused = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, { text: 'anyone there?' });
    await waitFor(() => statuses(refused!.key.id!).length >= 1);
    await sleep(RECEIPTS_SETTLED_MS);

    expect(statuses(refused!.key.id!)).toEqual([ERROR]);
    expect(sim.messagesTo(RECIPIENT)).toEqual([]);
    expect(sim.stats().messagesByRecipient).toEqual({});

    sim.clearRecipientFailure(RECIPIENT);
    const delivered = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, { text: 'there you are' });
    await waitFor(() => statuses(delivered!.key.id!).length >= 2);

    expect(statuses(delivered!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    expect(sim.stats().messagesByRecipient).toEqual({ [`${RECIPIENT}@s.whatsapp.net`]: 1 });
  });

  it('acks but never confirms a message to an offline recipient', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);
    sim.failRecipient(RECIPIENT, { mode: 'offline' });

    const sent = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, { text: 'later then' });
    await waitFor(() => sim.messagesTo(RECIPIENT).length === 1);
    await sleep(RECEIPTS_SETTLED_MS);

    expect(statuses(sent!.key.id!)).toEqual([]);
    expect(sim.stats().messagesByRecipient).toEqual({ [`${RECIPIENT}@s.whatsapp.net`]: 1 });
  });

  it('counts a message id once per recipient however often it is sent, also by a restarted client', async () => {
    // The first client ends with its last privacy-token iq in flight, whose 60 s timeout would hold jest.
    const restoreTimers = unrefBaileysTimers();
    try {
      const { auth, socket } = await pairAndLogin(port, (qr) => sim.scanQr(qr, SENDER), track, CLIENT_OPTIONS);
      const to = `${RECIPIENT}@s.whatsapp.net`;
      const first = await socket.sendMessage(to, { text: 'once' });
      const id = first!.key.id!;
      await socket.sendMessage(to, { text: 'once' }, { messageId: id });
      await socket.sendMessage(`${OTHER}@s.whatsapp.net`, { text: 'once' }, { messageId: id });
      await waitFor(() => sim.messagesTo(RECIPIENT)[0]?.copies === 2 && sim.messagesTo(OTHER).length === 1);

      // A client that crashed after sending resends from its stored state, with the same id.
      const saved = copyAuthState(auth);
      socket.end(undefined);
      const restarted = track(connect(port, saved, undefined, CLIENT_OPTIONS));
      await nextUpdate(restarted, opened);
      await restarted.sendMessage(to, { text: 'once' }, { messageId: id });
      await waitFor(() => sim.messagesTo(RECIPIENT)[0]?.copies === 3);

      expect(sim.messagesTo(RECIPIENT)).toEqual([expect.objectContaining({ id, copies: 3, text: 'once' })]);
      expect(sim.stats().messagesByRecipient).toEqual({ [to]: 1, [`${OTHER}@s.whatsapp.net`]: 1 });
    } finally {
      restoreTimers();
    }
  });

  it('takes an image upload over TLS, serves it back by its direct path, and delivers the message', async () => {
    const socket = await loggedIn();
    const statuses = statusesOf(socket);
    const original = randomBytes(50_000);

    const sent = await socket.sendMessage(`${RECIPIENT}@s.whatsapp.net`, {
      image: original,
      caption: 'a picture',
      jpegThumbnail: '',
    });

    const image = sent!.message!.imageMessage!;
    const stored = sim.mediaAt(image.directPath!);
    expect(stored).toBeDefined();
    expect(createHash('sha256').update(stored!).digest()).toEqual(Buffer.from(image.fileEncSha256!));
    expect(await decryptMedia(stored!, image.mediaKey!, 'image')).toEqual(original);
    expect(await httpsGet(image.url!, sim.mediaCertificate())).toEqual(stored);
    await waitFor(() => statuses(sent!.key.id!).length >= 2);
    expect(statuses(sent!.key.id!)).toEqual([DELIVERY_ACK, READ]);
    await waitFor(() => sim.messagesTo(RECIPIENT)[0]?.text !== undefined);
    expect(sim.messagesTo(RECIPIENT)[0]).toMatchObject({ type: 'media', mediaType: 'image', text: 'a picture' });
  });
});

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
    get(url, { ca }, (res) => {
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
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
