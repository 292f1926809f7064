import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY, DATABASE_KINDS } from '../support/topology';
import { until } from '../support/wait';

const PHONE = '5511988880001';
const FRIEND = '5511977770002';
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`;
const MEDIA_MAX_BYTES = 64 * 1024;
/** Enough of a JPEG for every party to tell its type: the sim's phone only decrypts and hashes it. */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Messages through the API against wa-sim, on both databases: every kind reaches the recipient decoded,
 * statuses move forward with `wait`, an Idempotency-Key never sends twice, inbound messages and media are
 * stored and downloadable, events land in the session's log in order, and bad input is a 4xx naming the field.
 */
describe.each(DATABASE_KINDS)('messages on the %s database, against wa-sim', (kind) => {
  let sim: WaSimServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  let key: string;
  let sessionId: string;
  let files: Server;
  let filesUrl: string;
  const url = (path: string) => `${server.url}${path}`;
  const post = (path: string, body?: unknown, headers?: Record<string, string>) => call(url(path), { method: 'POST', key, body, headers });
  const send = (body: Record<string, unknown>, query = '', headers?: Record<string, string>) => post(`/sessions/phone/messages${query}`, { to: FRIEND, ...body }, headers);
  const atRecipient = (waId: string) => sim.messagesTo(FRIEND).find((message) => message.id === waId);

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir(`messages-${kind}`);
    // The sim's media host has a self-signed certificate: the server trusts it the standard Node way.
    const caFile = join(dataDir, 'wa-sim-media.pem');
    writeFileSync(caFile, sim.mediaCertificate());
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    files = createServer((request, response) => {
      if (request.url === '/cat.jpg') return void response.writeHead(200, { 'content-type': 'image/jpeg' }).end(JPEG);
      if (request.url === '/huge.bin') return void response.writeHead(200, { 'content-type': 'application/pdf' }).end(Buffer.alloc(MEDIA_MAX_BYTES + 1));
      response.writeHead(302, { location: '/cat.jpg' }).end();
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    server = await startServer({
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      NODE_EXTRA_CA_CERTS: caFile,
      MEDIA_MAX_BYTES: String(MEDIA_MAX_BYTES),
      MEDIA_URL_ALLOW_PRIVATE: 'true',
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
    key = await tenantKey(server.url, ADMIN_KEY, `messages-${kind}`);
    sessionId = (await post('/sessions', { name: 'phone' })).body.id;
    await post('/sessions/phone/start');
    await waitForStatus(server.url, key, 'phone', 'scan_qr');
    const qr = (await call(url('/sessions/phone/qr?format=raw'), { key })).body.qr as string;
    await sim.scanQr(qr, PHONE);
    await waitForStatus(server.url, key, 'phone', 'working');
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await new Promise((resolve) => files?.close(resolve));
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('sends a text and, with wait=read, answers once the recipient read it; the log tells sent, delivered, read in order', async () => {
    const answer = await send({ kind: 'text', text: 'hello from the API' }, '?wait=read&timeout=10000');
    expect(answer).toMatchObject({ status: 201, body: { kind: 'text', text: 'hello from the API', chat: FRIEND_JID, direction: 'out', fromMe: true, status: 'read' } });
    // The recipient's phone decrypts a little after it took the message.
    expect(await until('decrypted at the recipient', () => atRecipient(answer.body.waId)?.content)).toMatchObject({ kind: 'text', text: 'hello from the API' });

    const events = (await call(url(`/sessions/phone/events?after=0&limit=200`), { key })).body.data as { seq: number; type: string; data: any }[];
    const mine = events.filter((event) => event.data?.id === answer.body.id);
    expect(mine.map((event) => (event.type === 'message.status' ? event.data.status : event.type))).toEqual(['message.sent', 'delivered', 'read']);
    expect(mine.map((event) => event.seq)).toEqual([...mine.map((event) => event.seq)].sort((a, b) => a - b));
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => events[0]!.seq + i));
  });

  it('answers a retried Idempotency-Key with the first answer and sends once; another body under the key is a 422', async () => {
    const headers = { 'Idempotency-Key': `once-${kind}` };
    const body = { kind: 'text', text: 'only once' };
    const [first, second] = await Promise.all([send(body, '', headers), send(body, '', headers)]);
    const third = await send(body, '', headers);
    expect(first).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect(second).toEqual(expect.objectContaining({ status: first.status, body: first.body }));
    expect(third).toEqual(expect.objectContaining({ status: first.status, body: first.body }));
    await until('the recipient got it and decrypted it', () => atRecipient(first.body.waId)?.text);
    expect(sim.messagesTo(FRIEND).filter((message) => message.text === 'only once')).toHaveLength(1);
    expect(await send({ kind: 'text', text: 'something else' }, '', headers)).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
  });

  it('delivers every kind decoded at the recipient, media decrypting to the same bytes', async () => {
    const text = (await send({ kind: 'text', text: 'see https://example.com/page', linkPreview: true })).body;
    const sent = {
      image: await send({ kind: 'image', media: { base64: JPEG.toString('base64') }, caption: 'a cat' }, '?wait=sent'),
      imageByUrl: await send({ kind: 'image', media: { url: `${filesUrl}/cat.jpg` } }, '?wait=sent'),
      voice: await send({ kind: 'audio', voice: true, seconds: 3, media: { base64: Buffer.from('OggS-voice-note').toString('base64') } }, '?wait=sent'),
      document: await send({ kind: 'document', media: { base64: Buffer.from('%PDF-1.4 test').toString('base64'), fileName: 'report.pdf' }, caption: 'the report' }, '?wait=sent'),
      location: await send({ kind: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'São Paulo' } }, '?wait=sent'),
      contact: await send({ kind: 'contact', contact: { name: 'Ana Souza', phone: '+55 11 96666-0003' } }, '?wait=sent'),
      reply: await send({ kind: 'text', text: 'replying @5511977770002', quotedId: text.id, mentions: [FRIEND] }, '?wait=sent'),
      reaction: await send({ kind: 'reaction', reaction: { messageId: text.id, emoji: '👍' } }, '?wait=sent'),
    };
    for (const [name, answer] of Object.entries(sent)) expect({ name, status: answer.status }).toEqual({ name, status: 201 });

    const decoded = async (answer: { body: { waId: string } }) => (await until('decoded at the recipient', () => atRecipient(answer.body.waId)?.content)) as any;
    expect((await decoded({ body: text })).linkPreview).toMatchObject({ matchedText: 'https://example.com/page' });
    expect(await decoded(sent.image)).toMatchObject({ kind: 'image', caption: 'a cat', media: { mimetype: 'image/jpeg', decrypted: true, sha256: sha256(JPEG) } });
    expect(await decoded(sent.imageByUrl)).toMatchObject({ kind: 'image', media: { decrypted: true, sha256: sha256(JPEG) } });
    expect(await decoded(sent.voice)).toMatchObject({ kind: 'audio', media: { voice: true, decrypted: true } });
    expect(await decoded(sent.document)).toMatchObject({ kind: 'document', caption: 'the report', media: { fileName: 'report.pdf', mimetype: 'application/pdf', decrypted: true } });
    expect(await decoded(sent.location)).toMatchObject({ kind: 'location', location: { latitude: -23.55, longitude: -46.63, name: 'São Paulo' } });
    expect((await decoded(sent.contact)).contact.vcard).toContain('waid=5511966660003');
    expect(await decoded(sent.reply)).toMatchObject({ kind: 'text', quotedId: text.waId, mentions: [FRIEND_JID] });
    expect(await decoded(sent.reaction)).toMatchObject({ kind: 'reaction', emoji: '👍', target: { id: text.waId } });
    expect(sent.image.body.media).toMatchObject({ mimetype: 'image/jpeg', size: JPEG.length });
  });

  it('queues what is sent while the session is reconnecting and sends it once it is back; a stopped session refuses with 409', async () => {
    sim.refuseLogins(PHONE, 503);
    await sim.dropConnection(PHONE, 503);
    const queued = await send({ kind: 'text', text: 'sent while away' });
    expect(queued).toMatchObject({ status: 202, body: { status: 'pending' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(atRecipient(queued.body.waId)).toBeUndefined();
    sim.refuseLogins(PHONE, undefined);
    await until('sent after the reconnect', async () => ((await call(url(`/sessions/phone/messages/${queued.body.id}`), { key })).body.status !== 'pending' ? true : undefined), 20_000);
    expect(await until('at the recipient, decrypted', () => atRecipient(queued.body.waId)?.content)).toMatchObject({ text: 'sent while away' });

    await post('/sessions/phone/stop');
    expect(await send({ kind: 'text', text: 'nobody home' })).toMatchObject({ status: 409, body: { error: { code: 'session_not_connected', details: { status: 'stopped' } } } });
    await post('/sessions/phone/start');
    await waitForStatus(server.url, key, 'phone', 'working');
  }, 40_000);

  it('edits and deletes a sent message for everyone', async () => {
    const sent = (await send({ kind: 'text', text: 'typo' }, '?wait=delivered')).body;
    expect(await post(`/sessions/phone/messages/${sent.id}/edit`, { text: 'fixed' })).toMatchObject({ status: 200, body: { text: 'fixed', edited: true } });
    expect((await call(url(`/sessions/phone/messages/${sent.id}`), { method: 'DELETE', key })).status).toBe(204);
    expect((await call(url(`/sessions/phone/messages/${sent.waId}`), { key })).body).toMatchObject({ id: sent.id, deleted: true, text: null });
    const acts = await until('edit and revoke at the recipient', () => {
      const found = sim.messagesTo(FRIEND).filter((message) => (message.content as any)?.target?.id === sent.waId);
      return found.length >= 2 ? found : undefined;
    });
    expect(acts.map((message) => (message.content as any).kind).sort()).toEqual(['edit', 'revoke']);
  });

  it('stores what arrives, counts it unread in its chat, and serves received media', async () => {
    await sim.deliverMessage(PHONE, { from: FRIEND, text: 'hi there' });
    await sim.deliverImage(PHONE, { from: FRIEND, image: { data: JPEG, caption: 'look' } });
    const inbound = await until('both stored', async () => {
      const page = (await call(url(`/sessions/phone/messages?chat=${FRIEND}&limit=50`), { key })).body.data as any[];
      const received = page.filter((message) => message.direction === 'in');
      return received.length >= 2 ? received : undefined;
    });
    const image = inbound.find((message) => message.kind === 'image');
    expect(inbound.find((message) => message.kind === 'text')).toMatchObject({ text: 'hi there', sender: FRIEND_JID, status: 'received' });
    const media = await fetch(url(`/sessions/phone/messages/${image.id}/media`), { headers: { 'x-api-key': key } });
    expect(media.status).toBe(200);
    expect(media.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await media.arrayBuffer()).equals(JPEG)).toBe(true);

    const chats = (await call(url('/sessions/phone/chats'), { key })).body.data as any[];
    expect(chats.find((chat) => chat.jid === FRIEND_JID)).toMatchObject({ unread: 2 });
    expect(await post(`/sessions/phone/chats/${FRIEND}/read`)).toMatchObject({ status: 200, body: { unread: 0 } });
    expect(await post('/sessions/phone/presence', { chat: FRIEND, state: 'composing' })).toMatchObject({ status: 200 });
    const events = (await call(url(`/sessions/phone/events?after=0&limit=200`), { key })).body.data as { type: string; data: any }[];
    expect(events.filter((event) => event.type === 'message.received').map((event) => event.data.kind)).toEqual(expect.arrayContaining(['text', 'image']));
  });

  it('answers bad input with a 4xx naming what is wrong, and another tenant with 404', async () => {
    const field = (answer: { body: any }) => answer.body.error.details?.map((detail: { field: string }) => detail.field);
    expect(field(await send({ kind: 'carrier-pigeon' }))).toContain('kind');
    expect(field(await send({ kind: 'text' }))).toContain('text');
    expect(field(await send({ kind: 'text', text: 'x', to: 'not a number' }))).toEqual(['to']);
    expect(field(await send({ kind: 'image' }))).toContain('media');
    expect(field(await send({ kind: 'image', media: [] }))).toEqual(['media']);
    expect(field(await send({ kind: 'location', location: [] }))).toEqual(['location']);
    expect(field(await send({ kind: 'contact', contact: [] }))).toEqual(['contact']);
    expect(field(await send({ kind: 'reaction', reaction: [] }))).toEqual(['reaction']);
    expect(field(await send({ kind: 'location', location: { latitude: 200, longitude: 0 } }))).toEqual(expect.arrayContaining([expect.stringMatching(/^location/)]));
    expect(field(await send({ kind: 'reaction', reaction: { messageId: 'nope', emoji: '👍' } }))).toEqual(['reaction.messageId']);
    expect(field(await send({ kind: 'sticker', media: { base64: JPEG.toString('base64') } }))).toEqual(['media.mimetype']);
    expect(await send({ kind: 'image', media: { base64: Buffer.alloc(MEDIA_MAX_BYTES + 10).toString('base64') } })).toMatchObject({ status: 413, body: { error: { code: 'media_too_large' } } });
    expect(await send({ kind: 'document', media: { url: `${filesUrl}/huge.bin` } })).toMatchObject({ status: 413 });
    expect(field(await send({ kind: 'image', media: { url: `${filesUrl}/moved` } }))).toEqual(['media.url']);
    expect(field(await send({ kind: 'text', text: 'x' }, '?wait=soon'))).toEqual(['wait']);
    expect((await send({ kind: 'text', text: 'x' }, '', { 'Idempotency-Key': '' })).status).toBe(400);

    const other = await tenantKey(server.url, ADMIN_KEY, `messages-other-${kind}`);
    expect((await call(url(`/sessions/${sessionId}/messages`), { key: other })).status).toBe(404);
    expect((await call(url(`/sessions/${sessionId}/messages`), { method: 'POST', key: other, body: { to: FRIEND, kind: 'text', text: 'x' } })).status).toBe(404);
  });

  it('answers a send with any field of a wrong type or shape with a JSON 4xx, or takes it, never a 5xx', async () => {
    const sent = await send({ kind: 'text', text: 'to react to' });
    const image = { base64: JPEG.toString('base64'), mimetype: 'image/jpeg', fileName: 'cat.jpg' };
    const valid: Record<string, unknown>[] = [
      { kind: 'text', text: 'hi', linkPreview: false, quotedId: sent.body.id, mentions: [FRIEND] },
      { kind: 'image', media: image, caption: 'a cat' },
      { kind: 'audio', media: { ...image, mimetype: 'audio/ogg' }, voice: true, seconds: 3 },
      { kind: 'document', media: { ...image, mimetype: 'application/pdf' } },
      { kind: 'location', location: { latitude: -23.5, longitude: -46.6, name: 'Sé', address: 'Praça da Sé' } },
      { kind: 'contact', contact: { name: 'Ana', phone: '+55 11 99999-0000' } },
      { kind: 'contact', contact: { displayName: 'Ana', vcard: 'BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nEND:VCARD' } },
      { kind: 'reaction', reaction: { messageId: sent.body.id, emoji: '👍' } },
    ];
    const wrong: unknown[] = [null, 0, -1, 1.5, true, '', 'x', 'a\u0000b', [], {}, ['x'], 'x'.repeat(70_000)];
    const problems: unknown[] = [];
    for (const base of valid) {
      const fields = Object.entries(base).flatMap(([name, value]) =>
        value && typeof value === 'object' && !Array.isArray(value) ? [[name], ...Object.keys(value).map((child) => [name, child])] : [[name]],
      );
      for (const path of [...fields, ['to']]) {
        for (const value of wrong) {
          const body = structuredClone({ to: FRIEND, ...base }) as Record<string, any>;
          if (path.length === 1) body[path[0]!] = value;
          else body[path[0]!][path[1]!] = value;
          const answer = await post('/sessions/phone/messages', body);
          const fine = answer.status < 300 || (answer.status < 500 && typeof answer.body?.error?.code === 'string');
          if (!fine) problems.push({ path: path.join('.'), value: JSON.stringify(value)?.slice(0, 40), kind: base.kind, status: answer.status, body: answer.body });
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
