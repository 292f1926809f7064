import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage, type Page } from '@wafleet/core';
import { DataSource } from 'typeorm';
import { insertOutgoingRow, insertOutgoingRows } from './message-rows';
import { OutgoingBatch } from './outgoing-batch';
import type { NewOutgoing } from './message-rows';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView, type StoredAnswer } from './message.view';

export type { NewOutgoing } from './message-rows';

export interface ChatView {
  jid: string;
  lastMessageId: string | null;
  lastMessageAt: string;
  unread: number;
}

/** How long an Idempotency-Key holds: the same key within this window returns the first answer. */
const IDEMPOTENCY_WINDOW = `interval '24 hours'`;

/**
 * The `messages`, `message_uploads` and `chats` tables as requests and the send queue use them: writes
 * of what users asked for, the queue, and reads. None of it takes a lease. What the session's engine
 * reports (sent, statuses, inbound) is written by its owner through MessageChanges.
 */
@Injectable()
export class MessageStore {
  /** Sends without a key or media, grouped into as few statements as the load allows. */
  private readonly plain = new OutgoingBatch(
    (messages) => insertOutgoingRows(this.dataSource.manager, messages),
    async (message) => (await insertOutgoingRows(this.dataSource.manager, [message]))[0]!,
  );

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Writes a pending outgoing message (and its media bytes). With an idempotency key already used in the
   * last 24 hours nothing is written.
   * @param admit runs for a message that is new, before it is committed (where there is a transaction:
   *   with a key or media), so that its throw writes nothing. With a key, a request racing this one with
   *   the same key waits at the insert until this one commits or rolls back, so only one is admitted.
   * @returns the row written, or undefined
   */
  async insertOutgoing(message: NewOutgoing, admit: () => Promise<void> = async () => undefined): Promise<MessageRow | undefined> {
    // The common case, a send with no key and no media, needs no transaction: it shares a statement with the sends beside it.
    if (!message.idempotencyKey && !message.upload && !message.waitsForLink) {
      await admit();
      return this.plain.write(message);
    }
    return this.dataSource.transaction(async (manager) => {
      if (message.idempotencyKey) {
        // A key older than the window is free again.
        await manager.query(
          `UPDATE messages SET idempotency_key = NULL WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at < now() - ${IDEMPOTENCY_WINDOW}`,
          [message.tenantId, message.idempotencyKey],
        );
      }
      const [row] = await insertOutgoingRow(manager, message);
      if (!row) return undefined;
      if (message.upload) await manager.query(`INSERT INTO message_uploads (message_id, data) VALUES ($1, $2)`, [message.id, message.upload]);
      await admit();
      return row;
    });
  }

  /** Counts a send that failed for a reason other than the connection. @returns the attempts so far */
  async countAttempt(id: string): Promise<number> {
    const [row]: { send_attempts: number }[] = await this.dataSource.query(
      `WITH counted AS (UPDATE messages SET send_attempts = send_attempts + 1 WHERE id = $1 RETURNING send_attempts) SELECT send_attempts FROM counted`,
      [id],
    );
    return row?.send_attempts ?? 0;
  }

  /** Which of `sessionIds` have messages waiting to be sent. */
  async sessionsWithPending(sessionIds: string[]): Promise<string[]> {
    const rows: { session_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT session_id FROM messages WHERE status = 'pending' AND session_id = ANY($1::uuid[])`,
      [sessionIds],
    );
    return rows.map((row) => row.session_id);
  }

  /**
   * Messages waiting to be sent for the session, oldest first: those accepted for `account` (the one the
   * engine is logged in as; null before it is) and those queued for whichever link the session gets.
   */
  async pending(sessionId: string, account: string | null, limit: number): Promise<MessageRow[]> {
    return this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages
       WHERE session_id = $1 AND status = 'pending' AND direction = 'out' AND (link IS NULL OR link = $2)
       ORDER BY created_at, id LIMIT $3`,
      [sessionId, account, limit],
    );
  }

  async byIdempotencyKey(tenantId: string, key: string): Promise<MessageRow | undefined> {
    const [row]: MessageRow[] = await this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at >= now() - ${IDEMPOTENCY_WINDOW}`,
      [tenantId, key],
    );
    return row;
  }

  async saveAnswer(id: string, answer: StoredAnswer): Promise<void> {
    await this.dataSource.query(`UPDATE messages SET response = $2::jsonb WHERE id = $1 AND response IS NULL`, [id, JSON.stringify(answer)]);
  }

  /** A message of the session, by its id here or its WhatsApp id. */
  async find(sessionId: string, idOrWaId: string): Promise<MessageRow | undefined> {
    const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrWaId);
    const [row]: MessageRow[] = await this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND ${isId ? 'id = $2::uuid' : 'wa_id = $2'} ORDER BY created_at LIMIT 1`,
      [sessionId, idOrWaId],
    );
    return row;
  }

  async upload(id: string): Promise<Buffer | undefined> {
    const [row]: { data: Buffer }[] = await this.dataSource.query(`SELECT data FROM message_uploads WHERE message_id = $1`, [id]);
    return row?.data;
  }

  /** Newest first. */
  async list(sessionId: string, chat: string | undefined, limit: number, cursor?: string): Promise<Page<MessageView>> {
    const params: unknown[] = [sessionId, limit + 1];
    let where = 'session_id = $1';
    if (chat) where += ` AND chat = $${params.push(chat)}`;
    if (cursor) {
      const position = decodeCursor(cursor);
      where += ` AND (created_at, id) < ($${params.push(position.createdAt)}, $${params.push(position.id)}::uuid)`;
    }
    const rows: MessageRow[] = await this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`,
      params,
    );
    return toPage(
      rows.map((row) => ({ ...row, createdAt: row.created_at })),
      limit,
      toMessageView,
    );
  }

  /** Most recent first. */
  async chats(sessionId: string, limit: number, offset: number): Promise<{ data: ChatView[]; more: boolean }> {
    const rows: { jid: string; last_message_id: string | null; last_message_at: Date; unread: number }[] = await this.dataSource.query(
      `SELECT jid, last_message_id, last_message_at, unread FROM chats WHERE session_id = $1
       ORDER BY last_message_at DESC, jid LIMIT $2 OFFSET $3`,
      [sessionId, limit + 1, offset],
    );
    return {
      data: rows.slice(0, limit).map((row) => ({ jid: row.jid, lastMessageId: row.last_message_id, lastMessageAt: row.last_message_at.toISOString(), unread: row.unread })),
      more: rows.length > limit,
    };
  }

  async markChatRead(sessionId: string, jid: string): Promise<void> {
    await this.dataSource.query(`UPDATE chats SET unread = 0 WHERE session_id = $1 AND jid = $2`, [sessionId, jid]);
  }
}
