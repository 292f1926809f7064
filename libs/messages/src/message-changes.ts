import { Injectable } from '@nestjs/common';
import { countMessageUsageSql } from '@wafleet/billing';
import { withoutNul } from '@wafleet/core';
import type { InboundMessage, MessageStatusUpdate, SentMessage } from '@wafleet/engines';
import { EventLog, type Append, type RunningEngine } from '@wafleet/sessions';
import type { EntityManager } from 'typeorm';
import { LOGGED_OUT_CODE, RANK_SQL, rankOf, WITHDRAWN_CODE } from './message-status';
import { insertInbound, touchChatSql } from './message-rows';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView } from './message.view';

/** A stored failure that a recorded send replaces: the message was withdrawn (or its link ended) while it was going out. */
const WITHDRAWN_SQL = `(status = 'failed' AND error->>'code' IN ('${WITHDRAWN_CODE}', '${LOGGED_OUT_CODE}'))`;
const LOGGED_OUT_ERROR = { code: LOGGED_OUT_CODE, message: 'The session was logged out before this message was sent.' };

/**
 * What a session's engine reports about messages — sent, failed, receipts, received — written by the
 * session's owner under the lease epoch, in one transaction with the event that tells of it (EventLog),
 * so a replica that lost the session writes nothing and every change is in the log exactly once.
 */
@Injectable()
export class MessageChanges {
  constructor(private readonly log: EventLog) {}

  /**
   * The engine handed the message to WhatsApp: `sent` (unless a receipt got further first), the media
   * descriptor of the uploaded copy, the chat's latest message, and `message.sent` in the log.
   * @returns the message, or null when this replica no longer holds the session
   */
  async markSent(running: RunningEngine, id: string, sent: SentMessage): Promise<MessageView | null> {
    return this.inLog(async (manager, append) => {
      // first_send: only markSent sets wa_timestamp on an outgoing row, so a repeat is not counted twice in
      // usage. `prior` reads the row as it was before this statement (a lock there would hide it from the UPDATE).
      // The media bytes waiting to be sent go in the same statement (sent, they are WhatsApp's to keep), and
      // so do the chat's latest message and the usage count.
      const [row]: (MessageRow & { first_send: boolean })[] = await manager.query(
        `WITH prior AS (SELECT wa_timestamp IS NULL AS first_send FROM messages WHERE id = $1),
         updated AS (
           UPDATE messages SET status = CASE WHEN ${RANK_SQL} < 1 OR ${WITHDRAWN_SQL} THEN 'sent' ELSE status END,
             error = CASE WHEN ${WITHDRAWN_SQL} THEN NULL ELSE error END,
             wa_timestamp = $2, media = COALESCE($3::jsonb, media), updated_at = now()
           WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}),
         uploaded AS (DELETE FROM message_uploads WHERE message_id = $1),
         usage AS (${countMessageUsageSql('messages_sent', 'updated, prior', 'prior.first_send')}),
         chat AS (${touchChatSql('updated', '0')})
         SELECT updated.*, prior.first_send FROM updated, prior`,
        [id, sent.timestamp, sent.media ? JSON.stringify(sent.media) : null],
      );
      if (!row) return null;
      const view = toMessageView(row);
      return (await append({ sessionId: running.sessionId, epoch: running.epoch, type: 'message.sent', data: view })) ? view : null;
    });
  }

  /** Records that the engine could not send it; `message.status` failed in the log. */
  async markFailed(running: RunningEngine, id: string, error: { code: string; message: string }): Promise<MessageView | null> {
    return this.inLog(async (manager, append) => {
      const [row]: MessageRow[] = await manager.query(
        `WITH updated AS (
           UPDATE messages SET status = 'failed', error = $2::jsonb, updated_at = now() WHERE id = $1 AND ${RANK_SQL} < 2 RETURNING ${MESSAGE_COLUMNS})
         SELECT * FROM updated`,
        [id, JSON.stringify(error)],
      );
      if (!row) return null;
      await manager.query(`DELETE FROM message_uploads WHERE message_id = $1`, [id]);
      await append({ sessionId: running.sessionId, epoch: running.epoch, type: 'message.status', data: { id: row.id, waId: row.wa_id, chat: row.chat, status: 'failed', error } });
      return toMessageView(row);
    });
  }

  /**
   * Fails, oldest first, up to `limit` messages of the session waiting to be sent that no link will send
   * now that the session is linked to `me` (null: logged out): those accepted for another account, and
   * with no account at all every one. Each gets its `message.status` failed event in the same transaction.
   * @returns their ids; empty when none is left, or the epoch moved on
   */
  async failUnlinked(running: Pick<RunningEngine, 'sessionId' | 'epoch'>, me: string | null, limit: number): Promise<string[]> {
    const failed = await this.inLog(async (manager, append) => {
      const rows: Pick<MessageRow, 'id' | 'wa_id' | 'chat'>[] = await manager.query(
        `WITH failed AS (
           UPDATE messages SET status = 'failed', error = $3::jsonb, updated_at = now()
           WHERE id IN (
             SELECT id FROM messages
             WHERE session_id = $1 AND status = 'pending' AND direction = 'out' AND ($2::text IS NULL OR (link IS NOT NULL AND link <> $2))
             ORDER BY created_at, id LIMIT $4 FOR UPDATE)
           RETURNING id, wa_id, chat, created_at)
         SELECT id, wa_id, chat FROM failed ORDER BY created_at, id`,
        [running.sessionId, me, JSON.stringify(LOGGED_OUT_ERROR), limit],
      );
      if (rows.length === 0) return [];
      await manager.query(`DELETE FROM message_uploads WHERE message_id = ANY($1::uuid[])`, [rows.map((row) => row.id)]);
      for (const row of rows) {
        await append({ sessionId: running.sessionId, epoch: running.epoch, type: 'message.status', data: { id: row.id, waId: row.wa_id, chat: row.chat, status: 'failed', error: LOGGED_OUT_ERROR } });
      }
      return rows.map((row) => row.id);
    });
    return failed ?? [];
  }

  /**
   * A receipt for a message this account sent: applied only when it moves the status forward (a late
   * `delivered` never undoes `read`), with `message.status` in the log.
   * @returns the message id and its new status, or null when nothing changed
   */
  async applyStatus(running: RunningEngine, update: MessageStatusUpdate): Promise<{ id: string; status: MessageView['status'] } | null> {
    const error = update.status === 'failed' ? { code: 'not_delivered', message: `WhatsApp refused the message${update.error ? ` (${update.error})` : ''}` } : null;
    // One statement, no transaction: receipts are most of what an owner writes (two or three per message sent).
    const applied = await this.log.appendChange<'message.status', { id: string }>(running.sessionId, running.epoch, 'message.status', {
      sql: `UPDATE messages SET status = $3, error = COALESCE($4::jsonb, error), updated_at = now() FROM fence
            WHERE session_id = fence.id AND wa_id = $1 AND chat = $2 AND from_me AND ${RANK_SQL} < $5
            RETURNING messages.id, wa_id, chat`,
      data: `jsonb_build_object('id', change.id, 'waId', change.wa_id, 'chat', change.chat, 'status', $3::text)
             || CASE WHEN $4::jsonb IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('error', $4::jsonb) END`,
      params: [update.id, update.chat, update.status, error ? JSON.stringify(error) : null, rankOf(update.status)],
    });
    return applied && { id: applied.changed.id, status: update.status };
  }

  /**
   * A message the session received (or its account wrote on another device): stored once however often
   * WhatsApp delivers it, the chat brought up to date, and its event in the log. Edits and deletes change
   * the message they name, with no second event for one delivered again; reactions are stored as
   * messages of their own.
   * A NUL character, which PostgreSQL's text and jsonb cannot hold, is stored as U+FFFD rather than the
   * message being lost.
   * @returns whether it was new
   */
  async storeInbound(running: RunningEngine, delivered: InboundMessage): Promise<boolean> {
    const message = withoutNul(delivered);
    return (
      (await this.inLog(async (manager, append) => {
        const at = { sessionId: running.sessionId, epoch: running.epoch };
        // Stored (now, or already): its stanza, staged by the engine until then, is no longer needed.
        await manager.query(`DELETE FROM inbound_stanzas WHERE session_id = $1 AND stanza_id = $2`, [running.sessionId, delivered.id]);
        if (message.kind === 'edit' || message.kind === 'delete') {
          const edit = message.kind === 'edit';
          // `done`: the message is already so, as when WhatsApp delivers the edit or delete a second time.
          const targets: { id: string; done: boolean }[] = await manager.query(
            `WITH target AS (
               SELECT id, ${edit ? 'edited AND body IS NOT DISTINCT FROM $4' : 'deleted'} AS done FROM messages
               WHERE session_id = $1 AND wa_id = $2 AND chat = $3),
             updated AS (
               UPDATE messages m SET ${edit ? 'body = $4, edited = true' : 'deleted = true, body = NULL'}, updated_at = now()
               FROM target WHERE m.id = target.id AND NOT target.done RETURNING m.id)
             SELECT id, done FROM target`,
            edit ? [running.sessionId, message.target.id, message.target.chat, message.text] : [running.sessionId, message.target.id, message.target.chat],
          );
          if (targets.length > 0 && targets.every((target) => target.done)) return false;
          const base = { id: targets[0]?.id ?? null, waId: message.target.id, chat: message.target.chat };
          if (edit) await append({ ...at, type: 'message.edited', data: { ...base, text: message.text } });
          else await append({ ...at, type: 'message.deleted', data: base });
          return true;
        }
        // With its chat and usage: what others sent to the account is received, not what it wrote on another device.
        const row = await insertInbound(manager, running, message);
        if (!row) return false;
        if (message.kind === 'reaction') {
          const [target]: { id: string }[] = await manager.query(`SELECT id FROM messages WHERE session_id = $1 AND wa_id = $2 AND chat = $3 LIMIT 1`, [
            running.sessionId,
            message.target.id,
            message.target.chat,
          ]);
          await append({
            ...at,
            type: 'message.reaction',
            data: { waId: message.id, chat: message.chat, sender: message.sender, target: { waId: message.target.id, messageId: target?.id ?? null }, emoji: message.emoji },
          });
        } else {
          await append({ ...at, type: 'message.received', data: toMessageView(row) });
        }
        return true;
      })) ?? false
    );
  }

  /** Runs `work` in one transaction with the log; null (and nothing kept) when the lease epoch moved on. */
  private async inLog<R>(work: (manager: EntityManager, append: Append) => Promise<R | null>): Promise<R | null> {
    try {
      return await this.log.transact(async (manager, append) => {
        const fenced: Append = async (event) => {
          const stored = await append(event);
          if (!stored) throw new LeaseMovedOn();
          return stored;
        };
        return work(manager, fenced);
      });
    } catch (error) {
      if (error instanceof LeaseMovedOn) return null;
      throw error;
    }
  }
}

/** Rolls a write back when the session's epoch is no longer the writer's. */
class LeaseMovedOn extends Error {}
