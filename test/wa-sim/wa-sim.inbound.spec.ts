import { createHash, randomBytes } from 'node:crypto';
import { downloadMediaMessage, proto, type WAMessage } from 'baileys';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { connect, copyAuthState, nextUpdate, opened, pairAndLogin, type Socket } from './baileys-client';
import { useSim } from './sim-fixture';

const PHONE = '15550005555';
const SENDER = '15550006666';
const OTHER_SENDER = '15550007777';
/**
 * As wafleet's engine connects: without it, Baileys' first connection after the pairing holds every
 * event for up to 20 s while it waits for a history sync, and the offline queue is delivered within them.
 */
const LIKE_WAFLEET = { shouldSyncHistoryMessage: () => false };

interface Received {
  type: string;
  message: WAMessage;
}

/** The first `count` messages.upsert entries that carry a message, with the upsert type of each. */
function received(socket: Socket, count: number, timeoutMs = 15_000): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const seen: Received[] = [];
    const timer = setTimeout(
      () => reject(new Error(`${seen.length} of ${count} messages within ${timeoutMs} ms: ${JSON.stringify(seen)}`)),
      timeoutMs,
    );
    socket.ev.on('messages.upsert', ({ type, messages }) => {
      for (const message of messages) if (message.message) seen.push({ type, message });
      if (seen.length >= count) {
        clearTimeout(timer);
        resolve(seen.slice(0, count));
      }
    });
  });
}

async function eventually<T>(read: () => T, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * An undici Agent that trusts `ca`, for Baileys' media download (global fetch with a `dispatcher`).
 * Node bundles undici without exporting it; the global dispatcher it creates on first use is an Agent,
 * kept on the global object of Node's own realm, which jest's sandbox reaches through `fetch`'s realm.
 */
async function trustingDispatcher(ca: string): Promise<object> {
  await fetch('http://127.0.0.1:9/').catch(() => undefined);
  const nodeGlobal = (fetch.constructor as FunctionConstructor)('return globalThis')() as Record<symbol, unknown>;
  const agent = nodeGlobal[Symbol.for('undici.globalDispatcher.1')] as { constructor: new (options: object) => object } | undefined;
  if (!agent) throw new Error('Node did not expose its global fetch dispatcher');
  return new agent.constructor({ connect: { ca } });
}

describe('wa-sim inbound messages to an unmodified Baileys client', () => {
  let sim: WaSimServer;
  let port: number;
  const track = useSim((started, at) => ([sim, port] = [started, at]));
  const paired = () => pairAndLogin(port, (qr) => sim.scanQr(qr, PHONE), track);
  const inbox = () => sim.inbox(PHONE);
  const allAcked = (messages: ReturnType<typeof inbox>) => messages.every((m) => m.status === 'acked');

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  it('delivers a text posted to the control API as a notify upsert from the sender, and the receipt acks it', async () => {
    const { socket } = await paired();
    const arriving = received(socket, 1);

    const posted = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, text: 'hello from the sim ✓' });
    const [{ type, message }] = await arriving;

    expect(posted.status).toBe(200);
    expect(type).toBe('notify');
    expect(message.key).toMatchObject({ remoteJid: `${SENDER}@s.whatsapp.net`, fromMe: false, id: posted.body.id });
    expect(message.message?.conversation).toBe('hello from the sim ✓');
    expect(message.messageTimestamp).toBe(posted.body.t);
    const listed = await call('GET', `/accounts/${PHONE}/inbox`);
    expect(listed.body.data).toEqual([
      { id: posted.body.id, from: SENDER, type: 'text', text: 'hello from the sim ✓', t: posted.body.t, status: expect.any(String), deliveries: 1 },
    ]);
    expect(await eventually(inbox, allAcked)).toEqual([expect.objectContaining({ status: 'acked', deliveries: 1 })]);
  });

  it('keeps the order of messages from one sender and opens a session per sender', async () => {
    const { socket } = await paired();
    const arriving = received(socket, 3);

    await sim.deliverMessage(PHONE, { from: SENDER, text: 'one' });
    await sim.deliverMessage(PHONE, { from: SENDER, text: 'two' });
    await sim.deliverMessage(PHONE, { from: OTHER_SENDER, text: 'three' });

    const texts = (await arriving).map(({ message }) => [message.key.remoteJid, message.message?.conversation]);
    expect(texts).toEqual([
      [`${SENDER}@s.whatsapp.net`, 'one'],
      [`${SENDER}@s.whatsapp.net`, 'two'],
      [`${OTHER_SENDER}@s.whatsapp.net`, 'three'],
    ]);
    expect(allAcked(await eventually(inbox, allAcked))).toBe(true);
  });

  it('holds a message while the account is offline and delivers it at the next login', async () => {
    const { auth, socket } = await paired();
    socket.end(undefined);
    await eventually(() => sim.listAccounts()[0]?.live, (live) => live === 0);

    const held = await sim.deliverMessage(PHONE, { from: SENDER, text: 'while you were away' });
    expect(held).toMatchObject({ status: 'pending', deliveries: 0 });

    const again = track(connect(port, auth, undefined, LIKE_WAFLEET));
    const arriving = received(again, 1);
    await nextUpdate(again, opened);
    const [{ type, message }] = await arriving;

    // From the offline queue, as WhatsApp delivers it: Baileys reports it as `append`, not `notify`.
    expect(type).toBe('append');
    expect(message.key.id).toBe(held.id);
    expect(message.message?.conversation).toBe('while you were away');
    expect(await eventually(inbox, allAcked)).toEqual([expect.objectContaining({ status: 'acked', deliveries: 1 })]);
  });

  it('delivers again, at the next login, a message the device received but never acknowledged', async () => {
    const { auth, socket } = await paired();
    await eventually(() => sim.accounts.findDevice(PHONE, 1)?.keyBundle, Boolean);
    // What a second replica would load from the database before this one dies holding the message.
    const persisted = copyAuthState(auth);
    // The process dies while handling the message: after Baileys took it, before its receipt went out.
    socket.ws.on('CB:message', () => void socket.ws.close());

    const sent = await sim.deliverMessage(PHONE, { from: SENDER, text: 'do not lose me' });
    await eventually(() => sim.listAccounts()[0]?.live, (live) => live === 0);
    expect(inbox()).toEqual([expect.objectContaining({ id: sent.id, status: 'delivered', deliveries: 1 })]);

    const replica = track(connect(port, persisted, undefined, LIKE_WAFLEET));
    const arriving = received(replica, 1);
    const [{ type, message }] = await arriving;

    expect(type).toBe('append');
    expect(message.key.id).toBe(sent.id);
    expect(message.message?.conversation).toBe('do not lose me');
    expect(await eventually(inbox, allAcked)).toEqual([expect.objectContaining({ status: 'acked', deliveries: 2 })]);
  });

  it('sends a message afresh, in a new session, when the device cannot decrypt it and asks again', async () => {
    const { auth, socket } = await paired();
    await eventually(() => sim.accounts.findDevice(PHONE, 1)?.keyBundle, Boolean);
    const first = received(socket, 1);
    await sim.deliverMessage(PHONE, { from: SENDER, text: 'opens the session' });
    await first;
    await eventually(inbox, allAcked);
    socket.end(undefined);
    await eventually(() => sim.listAccounts()[0]?.live, (live) => live === 0);

    // A device whose Signal sessions are gone (as when its state and its receipts went different ways at
    // a crash) cannot read what the sender encrypts in the old session: it sends a retry receipt.
    const forgetful = copyAuthState(auth);
    for (const key of [...forgetful.store.keys()]) if (key.startsWith('session/')) forgetful.store.delete(key);
    const sent = await sim.deliverMessage(PHONE, { from: SENDER, text: 'read me after all' });
    const again = track(connect(port, forgetful, undefined, LIKE_WAFLEET));
    const arriving = received(again, 1);
    const [{ message }] = await arriving;

    expect(message.key.id).toBe(sent.id);
    expect(message.message?.conversation).toBe('read me after all');
    expect((await eventually(inbox, allAcked)).find((entry) => entry.id === sent.id)).toMatchObject({ status: 'acked', deliveries: 2 });
  });

  it('delivers an image the client downloads and decrypts byte for byte', async () => {
    const { socket } = await paired();
    const arriving = received(socket, 1);
    const image = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(40_000)]);

    const posted = await call('POST', `/accounts/${PHONE}/messages`, {
      from: SENDER,
      image: image.toString('base64'),
      caption: 'a picture',
      mimetype: 'image/png',
    });
    const [{ type, message }] = await arriving;

    expect(posted).toEqual({ status: 200, body: expect.objectContaining({ type: 'image', text: 'a picture', from: SENDER }) });
    expect(type).toBe('notify');
    expect(message.key).toMatchObject({ id: posted.body.id, remoteJid: `${SENDER}@s.whatsapp.net` });
    const imageMessage = message.message?.imageMessage;
    expect(imageMessage).toMatchObject({ caption: 'a picture', mimetype: 'image/png', fileLength: expect.anything() });
    expect(Buffer.from(imageMessage!.fileSha256!)).toEqual(createHash('sha256').update(image).digest());

    const dispatcher = await trustingDispatcher(sim.mediaCertificate());
    const downloaded = await downloadMediaMessage(message, 'buffer', { options: { dispatcher } } as never);
    expect(Buffer.compare(downloaded as Buffer, image)).toBe(0);
  });

  it('delivers a reaction, an edit and a revoke from the sender, keyed as the sender sees them', async () => {
    const { socket } = await paired();
    const arriving = received(socket, 4);
    const original = await sim.deliverMessage(PHONE, { from: SENDER, text: 'helo' });

    const reaction = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, reaction: { target: 'ACCOUNTSOWN1', emoji: '❤️' } });
    const edit = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, edit: { target: original.id, text: 'hello' } });
    const revoke = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, revoke: { target: original.id } });
    const [, reacted, edited, revoked] = (await arriving).map(({ message }) => message);

    expect(reaction.body).toMatchObject({ type: 'reaction', text: '❤️', target: 'ACCOUNTSOWN1' });
    expect(edit.body).toMatchObject({ type: 'edit', text: 'hello', target: original.id });
    expect(revoke.body).toMatchObject({ type: 'revoke', text: '', target: original.id });
    // Baileys turns a reaction's key to the account's point of view: the account wrote the target.
    expect(reacted!.message?.reactionMessage).toMatchObject({ text: '❤️', key: { id: 'ACCOUNTSOWN1', fromMe: true } });
    expect(edited!.message?.protocolMessage).toMatchObject({
      type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
      key: { id: original.id, fromMe: true },
      editedMessage: { conversation: 'hello' },
    });
    expect(revoked!.message?.protocolMessage).toMatchObject({ type: proto.Message.ProtocolMessage.Type.REVOKE, key: { id: original.id } });
    expect(allAcked(await eventually(inbox, allAcked))).toBe(true);
  });

  it('records the read receipt a client sends for a message it received', async () => {
    const { socket } = await paired();
    const arriving = received(socket, 1);
    const sent = await sim.deliverMessage(PHONE, { from: SENDER, text: 'read me' });
    const [{ message }] = await arriving;

    await socket.readMessages([message.key]);

    const read = await eventually(inbox, (messages) => messages[0]?.readAt !== undefined);
    expect(read).toEqual([expect.objectContaining({ id: sent.id, readAt: expect.any(Number) })]);
  });

  it('answers 400 for a bad reaction, edit or revoke body and 404 for an edit of another’s message', async () => {
    sim.accounts.ensure(PHONE);
    const other = await sim.deliverMessage(PHONE, { from: OTHER_SENDER, text: 'not yours to edit' });

    const noEmoji = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, reaction: { target: 'X' } });
    const noTarget = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, revoke: {} });
    const twoThings = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, text: 'hi', edit: { target: 'X', text: 'y' } });
    const notTheirs = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, edit: { target: other.id, text: 'mine now' } });

    expect(noEmoji).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"reaction.emoji"') } } });
    expect(noTarget).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"revoke.target"') } } });
    expect(twoThings).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"edit"') } } });
    expect(notTheirs).toEqual({ status: 404, body: { error: { code: 'unknown_message', message: expect.stringContaining(other.id) } } });
    expect(inbox().map((message) => message.id)).toEqual([other.id]);
  });

  it('answers 400 for a bad text or image body and 404 for an unknown account', async () => {
    sim.accounts.ensure(PHONE);

    const noFrom = await call('POST', `/accounts/${PHONE}/messages`, { text: 'hi' });
    const emptyText = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, text: '' });
    const badImage = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, image: 'not base64!' });
    const textAndImage = await call('POST', `/accounts/${PHONE}/messages`, { from: SENDER, text: 'hi', image: 'AAAA' });
    const unknown = await call('POST', '/accounts/15559999999/messages', { from: SENDER, text: 'hi' });
    const unknownInbox = await call('GET', '/accounts/15559999999/inbox');

    expect(noFrom).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"from"') } } });
    expect(emptyText).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"text"') } } });
    expect(badImage).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"image"') } } });
    expect(textAndImage).toEqual({ status: 400, body: { error: { code: 'invalid_body', message: expect.stringContaining('"text"') } } });
    expect(unknown).toEqual({ status: 404, body: { error: { code: 'unknown_account', message: expect.stringContaining('15559999999') } } });
    expect(unknownInbox.status).toBe(404);
    expect(inbox()).toEqual([]);
  });
});
