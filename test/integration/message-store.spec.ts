import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@wafleet/config';
import type { Engine } from '@wafleet/engines';
import { SessionLeaseMetrics, SessionLeases } from '@wafleet/registry';
import { EventLog, SessionEvents, type RunningEngine, type SessionEvent } from '@wafleet/sessions';
import { Registry } from 'prom-client';
import { insertOutgoingRow, newOutgoingId } from '../../libs/messages/src/message-rows';
import { MessageChanges } from '../../libs/messages/src/message-changes';
import { MessageStore } from '../../libs/messages/src/message-store';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow } from '../../libs/messages/src/message.view';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

const FRIEND = '5511977770002@s.whatsapp.net';
const OWN_JID = '5511977770001:2@s.whatsapp.net';

/** The message store on PostgreSQL: statuses only move forward, inbound is stored once, a stale owner writes nothing. */
describe('the message store on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let store: MessageStore;
  let changes: MessageChanges;
  const published: SessionEvent[] = [];
  const leases: SessionLeases[] = [];

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    const events = new SessionEvents();
    events.subscribe((event) => published.push(event));
    store = new MessageStore(dataSource);
    changes = new MessageChanges(new EventLog(dataSource, events));
  });

  afterAll(async () => {
    for (const lease of leases) lease.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });

  async function ownedSession(instanceId = 'replica-a'): Promise<RunningEngine> {
    const sessionId = randomUUID();
    // Linked, as a session that takes sends is: the send queue hands the engine only what was accepted for its account.
    await database.query(`INSERT INTO sessions (id, tenant_id, name, me) VALUES ($1, $2, $3, $4::jsonb)`, [sessionId, tenantId, `s-${sessionId}`, JSON.stringify({ id: OWN_JID })]);
    return { sessionId, tenantId, name: `s-${sessionId}`, epoch: (await claim(instanceId, sessionId))!, engine: undefined as unknown as Engine };
  }

  async function claim(instanceId: string, sessionId: string): Promise<string | null> {
    const config = loadConfig({ DATABASE_URL: database.url, ADMIN_API_KEY: 'x'.repeat(32), INSTANCE_ID: instanceId, LEASE_TTL_MS: '60000' });
    const lease = new SessionLeases(config, dataSource, new SessionLeaseMetrics(new Registry()));
    leases.push(lease);
    // Another replica may take it at once: the earlier lease is treated as lapsed.
    await database.query(`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = $1 AND owner_instance_id IS NOT NULL`, [sessionId]);
    const epoch = await lease.claim(sessionId);
    return epoch === null ? null : String(epoch);
  }

  async function pendingText(running: RunningEngine, waId: string): Promise<string> {
    const id = newOutgoingId();
    await store.insertOutgoing({ id, tenantId, sessionId: running.sessionId, waId, chat: FRIEND, kind: 'text', body: 'hi', content: {}, quotedId: null, idempotencyKey: null, requestHash: null, upload: null });
    return id;
  }

  const statusOf = async (id: string) => (await database.query<{ status: string }>(`SELECT status FROM messages WHERE id = $1`, [id]))[0]?.status;
  /** The tenant's usage figures, summed over days. */
  const usage = async () =>
    (
      await database.query<{ sent: number; received: number }>(
        `SELECT coalesce(sum(messages_sent), 0)::int AS sent, coalesce(sum(messages_received), 0)::int AS received FROM usage_daily WHERE tenant_id = $1`,
        [tenantId],
      )
    )[0]!;
  const eventsOf = (sessionId: string) => published.filter((event) => event.sessionId === sessionId).map((event) => (event.type === 'message.status' ? `status:${(event.data as { status: string }).status}` : event.type));

  it('moves a status forward only: a late delivered never undoes read, and a failure after delivery is ignored', async () => {
    const running = await ownedSession();
    const id = await pendingText(running, 'WA-1');
    expect(await changes.markSent(running, id, { id: 'WA-1', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() })).toMatchObject({ status: 'sent' });
    expect(await changes.applyStatus(running, { id: 'WA-1', chat: FRIEND, status: 'read' })).toEqual({ id, status: 'read' });
    expect(await changes.applyStatus(running, { id: 'WA-1', chat: FRIEND, status: 'delivered' })).toBeNull();
    expect(await changes.applyStatus(running, { id: 'WA-1', chat: FRIEND, status: 'failed' })).toBeNull();
    expect(await changes.applyStatus(running, { id: 'WA-1', chat: FRIEND, status: 'played' })).toEqual({ id, status: 'played' });
    expect(await statusOf(id)).toBe('played');
    expect(eventsOf(running.sessionId)).toEqual(['message.sent', 'status:read', 'status:played']);
  });

  it('keeps a receipt that came before the send was recorded, and records the send without going back, counted once', async () => {
    const running = await ownedSession();
    const id = await pendingText(running, 'WA-2');
    const before = await usage();
    expect(await changes.applyStatus(running, { id: 'WA-2', chat: FRIEND, status: 'delivered' })).toEqual({ id, status: 'delivered' });
    expect(await changes.markSent(running, id, { id: 'WA-2', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() })).toMatchObject({ status: 'delivered' });
    // Recorded again (the engine reported it twice): still one message sent, and the chat's latest.
    expect(await changes.markSent(running, id, { id: 'WA-2', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() })).toMatchObject({ status: 'delivered' });
    expect(await usage()).toEqual({ sent: before.sent + 1, received: before.received });
    expect((await store.chats(running.sessionId, 10, 0)).data).toEqual([{ jid: FRIEND, lastMessageId: id, lastMessageAt: expect.any(String), unread: 0 }]);
  });

  it('records the send of a message withdrawn while it was going out (a campaign cancel), and no other failure', async () => {
    const running = await ownedSession();
    const withdrawn = await pendingText(running, 'WA-4');
    const refused = await pendingText(running, 'WA-5');
    await database.query(`UPDATE messages SET status = 'failed', error = $2::jsonb WHERE id = $1`, [withdrawn, JSON.stringify({ code: 'campaign_cancelled', message: 'cancelled' })]);
    await database.query(`UPDATE messages SET status = 'failed', error = $2::jsonb WHERE id = $1`, [refused, JSON.stringify({ code: 'message_refused', message: 'no' })]);
    const sentAt = new Date().toISOString();
    expect(await changes.markSent(running, withdrawn, { id: 'WA-4', chat: FRIEND, kind: 'text', timestamp: sentAt })).toMatchObject({ status: 'sent', error: null });
    expect(await changes.markSent(running, refused, { id: 'WA-5', chat: FRIEND, kind: 'text', timestamp: sentAt })).toMatchObject({ status: 'failed' });
    expect(await changes.applyStatus(running, { id: 'WA-4', chat: FRIEND, status: 'delivered' })).toEqual({ id: withdrawn, status: 'delivered' });
  });

  it('sends only what was accepted for the linked account, and fails the rest when the link changes, each with its event', async () => {
    const running = await ownedSession();
    const elsewhere = await ownedSession();
    const linkTo = (sessionId: string, me: string | null) =>
      database.query(`UPDATE sessions SET me = $2::jsonb WHERE id = $1`, [sessionId, me ? JSON.stringify({ id: me }) : null]);
    const queued = (sessionId: string, waId: string, waitsForLink = false) =>
      insertOutgoingRow(dataSource.manager, { id: newOutgoingId(), tenantId, sessionId, waId, chat: FRIEND, kind: 'text', body: waId, content: {}, quotedId: null, idempotencyKey: null, requestHash: null, upload: null, waitsForLink });
    const pendingIds = async (account: string | null) => (await store.pending(running.sessionId, account, 50)).map((row) => row.wa_id);

    // Queued by a campaign before the first link: for whichever link comes. A send with no link belongs to none.
    await linkTo(running.sessionId, null);
    const [early] = await queued(running.sessionId, 'WA-EARLY', true);
    await queued(running.sessionId, 'WA-NONE');
    await linkTo(running.sessionId, 'ana:3@s.whatsapp.net');
    await linkTo(elsewhere.sessionId, 'ana:3@s.whatsapp.net');
    const first = await pendingText(running, 'WA-6');
    const second = await pendingText(running, 'WA-7');
    const sent = await pendingText(running, 'WA-8');
    const otherSession = await pendingText(elsewhere, 'WA-9');
    await changes.markSent(running, sent, { id: 'WA-8', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() });
    await database.query(`INSERT INTO message_uploads (message_id, data) VALUES ($1, $2)`, [second, Buffer.from('bytes')]);
    expect(await pendingIds('ana:3@s.whatsapp.net')).toEqual(['WA-EARLY', 'WA-6', 'WA-7']);
    // An engine not logged in yet is handed only what waits for any link.
    expect(await pendingIds(null)).toEqual(['WA-EARLY']);

    // An engine logged in as another account (after a logout the row may have missed) is never handed what was accepted for ana.
    await linkTo(running.sessionId, 'bia:7@s.whatsapp.net');
    expect(await pendingIds('bia:7@s.whatsapp.net')).toEqual(['WA-EARLY']);
    const before = published.length;
    expect(await changes.failUnlinked(running, 'bia:7@s.whatsapp.net', 2)).toEqual([expect.any(String), first]);
    expect(await changes.failUnlinked(running, 'bia:7@s.whatsapp.net', 2)).toEqual([second]);
    expect(await changes.failUnlinked(running, 'bia:7@s.whatsapp.net', 2)).toEqual([]);
    expect([await statusOf(early!.id), await statusOf(sent), await statusOf(otherSession)]).toEqual(['pending', 'sent', 'pending']);
    expect(await database.query(`SELECT 1 FROM message_uploads WHERE message_id = $1`, [second])).toEqual([]);

    // Logged out: everything left fails, also what waited for a link.
    await linkTo(running.sessionId, null);
    expect(await changes.failUnlinked(running, null, 10)).toEqual([early!.id]);
    expect(await pendingIds('bia:7@s.whatsapp.net')).toEqual([]);
    const failures = published.slice(before).filter((event) => event.sessionId === running.sessionId);
    expect(failures.map((event) => [event.type, (event.data as { waId: string }).waId, (event.data as { error?: { code: string } }).error?.code])).toEqual([
      ['message.status', 'WA-NONE', 'session_logged_out'],
      ['message.status', 'WA-6', 'session_logged_out'],
      ['message.status', 'WA-7', 'session_logged_out'],
      ['message.status', 'WA-EARLY', 'session_logged_out'],
    ]);

    // The send under way when the link ended went out before it: recorded as sent.
    expect(await changes.markSent(running, first, { id: 'WA-6', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() })).toMatchObject({ status: 'sent', error: null });
  });

  it('stores an inbound message once however often it is delivered, counting it unread and received once', async () => {
    const running = await ownedSession();
    const before = await usage();
    const inbound = { kind: 'text' as const, id: 'IN-1', chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: new Date().toISOString(), text: 'hello' };
    expect(await changes.storeInbound(running, inbound)).toBe(true);
    expect(await changes.storeInbound(running, inbound)).toBe(false);
    expect(eventsOf(running.sessionId)).toEqual(['message.received']);
    expect((await store.chats(running.sessionId, 10, 0)).data).toEqual([expect.objectContaining({ jid: FRIEND, unread: 1 })]);
    expect(await usage()).toEqual({ sent: before.sent, received: before.received + 1 });

    // What the account wrote on another device is neither unread nor received; a reaction is received, not unread.
    expect(await changes.storeInbound(running, { ...inbound, id: 'IN-OWN', fromMe: true, text: 'from my phone' })).toBe(true);
    expect(await changes.storeInbound(running, { kind: 'reaction', id: 'IN-R', chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: inbound.timestamp, target: { id: 'IN-1', chat: FRIEND, fromMe: false }, emoji: '👍' })).toBe(true);
    const [reaction] = await database.query<{ id: string }>(`SELECT id FROM messages WHERE session_id = $1 AND wa_id = 'IN-R'`, [running.sessionId]);
    expect((await store.chats(running.sessionId, 10, 0)).data).toEqual([expect.objectContaining({ jid: FRIEND, unread: 1, lastMessageId: reaction!.id })]);
    expect(await usage()).toEqual({ sent: before.sent, received: before.received + 2 });
  });

  it('applies an edit and a delete once, with one event each, however often WhatsApp delivers them', async () => {
    const running = await ownedSession();
    const common = { chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: new Date().toISOString() };
    const target = { id: 'IN-E', chat: FRIEND, fromMe: false };
    expect(await changes.storeInbound(running, { ...common, kind: 'text', id: 'IN-E', text: 'teh typo' })).toBe(true);
    const edit = { ...common, kind: 'edit' as const, id: 'IN-E-1', target, text: 'the typo' };
    const remove = { ...common, kind: 'delete' as const, id: 'IN-E-2', target };

    expect(await changes.storeInbound(running, edit)).toBe(true);
    expect(await changes.storeInbound(running, edit)).toBe(false);
    expect(await changes.storeInbound(running, { ...edit, id: 'IN-E-3', text: 'the typo, again' })).toBe(true);
    expect(await changes.storeInbound(running, remove)).toBe(true);
    expect(await changes.storeInbound(running, remove)).toBe(false);
    // What names a message this session never stored still has its event, every time.
    const elsewhere = { ...remove, id: 'IN-E-4', target: { ...target, id: 'NOT-STORED' } };
    expect(await changes.storeInbound(running, elsewhere)).toBe(true);

    expect(eventsOf(running.sessionId)).toEqual(['message.received', 'message.edited', 'message.edited', 'message.deleted', 'message.deleted']);
    const [row] = await database.query<{ body: string | null; edited: boolean; deleted: boolean }>(
      `SELECT body, edited, deleted FROM messages WHERE session_id = $1 AND wa_id = 'IN-E'`,
      [running.sessionId],
    );
    expect(row).toEqual({ body: null, edited: true, deleted: true });
  });

  it('stores a received message whose text holds a NUL character, with U+FFFD in its place', async () => {
    const running = await ownedSession();
    const common = { chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: new Date().toISOString(), pushName: 'Ana\u0000' };
    expect(await changes.storeInbound(running, { ...common, kind: 'text', id: 'IN-NUL', text: 'a\u0000b' })).toBe(true);
    expect(await changes.storeInbound(running, { ...common, kind: 'edit', id: 'IN-NUL-E', target: { id: 'IN-NUL', chat: FRIEND, fromMe: false }, text: 'c\u0000d' })).toBe(true);
    const [row] = await database.query<{ body: string; content: { pushName?: string } }>(`SELECT body, content FROM messages WHERE session_id = $1 AND wa_id = 'IN-NUL'`, [running.sessionId]);
    expect(row).toMatchObject({ body: 'c\ufffdd', content: { pushName: 'Ana\ufffd' } });
    expect(eventsOf(running.sessionId)).toEqual(['message.received', 'message.edited']);
  });

  it('deletes the stanza the engine staged for a received message in the transaction that stores it, and only then', async () => {
    const stale = await ownedSession('replica-a');
    const stage = (stanzaId: string) =>
      database.query(`INSERT INTO inbound_stanzas (session_id, stanza_id, part, stanza, plaintext) VALUES ($1, $2, 0, '\\x00', '\\x00')`, [stale.sessionId, stanzaId]);
    const staged = async () => (await database.query<{ stanza_id: string }>(`SELECT stanza_id FROM inbound_stanzas WHERE session_id = $1 ORDER BY stanza_id`, [stale.sessionId])).map((row) => row.stanza_id);
    const common = { chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: new Date().toISOString() };
    await stage('IN-S1');
    await stage('IN-S2');
    await stage('IN-S3');

    expect(await changes.storeInbound(stale, { ...common, kind: 'text', id: 'IN-S1', text: 'stored' })).toBe(true);
    expect(await staged()).toEqual(['IN-S2', 'IN-S3']);
    // Stored already (WhatsApp delivered it again): nothing new, and its stanza goes all the same.
    await stage('IN-S1');
    expect(await changes.storeInbound(stale, { ...common, kind: 'text', id: 'IN-S1', text: 'stored' })).toBe(false);
    expect(await staged()).toEqual(['IN-S2', 'IN-S3']);

    // An owner whose lease moved on stores nothing, so the stanza stays for the session's next connection.
    const fresh = { ...stale, epoch: (await claim('replica-b', stale.sessionId))! };
    expect(await changes.storeInbound(stale, { ...common, kind: 'text', id: 'IN-S2', text: 'not by a stale owner' })).toBe(false);
    expect(await staged()).toEqual(['IN-S2', 'IN-S3']);
    expect(await changes.storeInbound(fresh, { ...common, kind: 'edit', id: 'IN-S3', target: { id: 'IN-S1', chat: FRIEND, fromMe: false }, text: 'edited' })).toBe(true);
    expect(await staged()).toEqual(['IN-S2']);
  });

  it('writes nothing for an owner whose lease epoch moved on', async () => {
    const stale = await ownedSession('replica-a');
    const id = await pendingText(stale, 'WA-3');
    const fresh = { ...stale, epoch: (await claim('replica-b', stale.sessionId))! };
    expect(fresh.epoch).not.toBe(stale.epoch);
    expect(await changes.markSent(stale, id, { id: 'WA-3', chat: FRIEND, kind: 'text', timestamp: new Date().toISOString() })).toBeNull();
    expect(await changes.applyStatus(stale, { id: 'WA-3', chat: FRIEND, status: 'read' })).toBeNull();
    expect(await changes.storeInbound(stale, { kind: 'text', id: 'IN-2', chat: FRIEND, sender: FRIEND, fromMe: false, timestamp: new Date().toISOString(), text: 'x' })).toBe(false);
    expect(await statusOf(id)).toBe('pending');
    expect(eventsOf(stale.sessionId)).toEqual([]);
    expect(await changes.applyStatus(fresh, { id: 'WA-3', chat: FRIEND, status: 'read' })).toEqual({ id, status: 'read' });
  });

  it('writes concurrent plain sends together, each as a full row, and fails only the one whose session is gone', async () => {
    const running = await ownedSession();
    const send = (sessionId: string, n: number) => ({
      id: newOutgoingId(),
      tenantId,
      sessionId,
      waId: `WA-BATCH-${n}`,
      chat: FRIEND,
      kind: 'text',
      body: `text ${n}`,
      content: { linkPreview: n % 2 === 0, mentions: [`${n}@s.whatsapp.net`] },
      quotedId: n === 3 ? 'WA-QUOTED' : null,
      idempotencyKey: null,
      requestHash: null,
      upload: null,
    });
    const sends = Array.from({ length: 40 }, (_, n) => send(n === 17 ? randomUUID() : running.sessionId, n));
    const settled = await Promise.allSettled(sends.map((message) => store.insertOutgoing(message)));

    const refused = settled.flatMap((result, n) => (result.status === 'rejected' ? [{ n, code: (result.reason as { driverError?: { code?: string } }).driverError?.code }] : []));
    expect(refused).toEqual([{ n: 17, code: '23503' }]);
    // Each answer is the row as stored, read back the way every other read shows a message.
    for (const [n, result] of settled.entries()) {
      if (n === 17) continue;
      const answered = (result as PromiseFulfilledResult<MessageRow>).value;
      const [stored] = await database.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [sends[n]!.id]);
      expect(toMessageView(answered)).toEqual(toMessageView(stored!));
      expect(stored).toMatchObject({ status: 'pending', direction: 'out', from_me: true, body: `text ${n}`, quoted_id: n === 3 ? 'WA-QUOTED' : null, content: sends[n]!.content });
    }
    // The first two went alone, at once, in two statements of their own; the rest went in one statement,
    // then (for #17) one after another: the queue has those in the order they were accepted.
    const together = sends.slice(2).filter((message) => message.sessionId === running.sessionId).map((message) => message.id);
    const queued = (await store.pending(running.sessionId, OWN_JID, 100)).map((row) => row.id);
    expect(queued.filter((id) => together.includes(id))).toEqual(together);
  });

  it('queues sends written one after another in the order they were written, also within one millisecond', async () => {
    const running = await ownedSession();
    const written: string[] = [];
    for (let n = 0; n < 60; n++) written.push(await pendingText(running, `WA-ORDER-${n}`));
    expect((await store.pending(running.sessionId, OWN_JID, 100)).map((row) => row.id)).toEqual(written);
  });

  it('keeps the media bytes until the message is sent or failed, and a stale owner drops nothing', async () => {
    const running = await ownedSession();
    const image = (waId: string) => ({
      id: newOutgoingId(),
      tenantId,
      sessionId: running.sessionId,
      waId,
      chat: FRIEND,
      kind: 'image',
      body: null,
      content: {},
      quotedId: null,
      idempotencyKey: null,
      requestHash: null,
      upload: Buffer.from(`bytes of ${waId}`),
    });
    const sent = image('WA-IMG-1');
    const failed = image('WA-IMG-2');
    await store.insertOutgoing(sent);
    await store.insertOutgoing(failed);
    expect(await store.upload(sent.id)).toEqual(Buffer.from('bytes of WA-IMG-1'));

    const stale = { ...running };
    const fresh = { ...running, epoch: (await claim('replica-b', running.sessionId))! };
    const at = new Date().toISOString();
    expect(await changes.markSent(stale, sent.id, { id: 'WA-IMG-1', chat: FRIEND, kind: 'image', timestamp: at })).toBeNull();
    expect(await store.upload(sent.id)).toEqual(Buffer.from('bytes of WA-IMG-1'));

    expect(await changes.markSent(fresh, sent.id, { id: 'WA-IMG-1', chat: FRIEND, kind: 'image', timestamp: at })).toMatchObject({ status: 'sent' });
    expect(await changes.markFailed(fresh, failed.id, { code: 'message_refused', message: 'no' })).toMatchObject({ status: 'failed' });
    expect(await store.upload(sent.id)).toBeUndefined();
    expect(await store.upload(failed.id)).toBeUndefined();
  });
});
