import { Injectable } from '@nestjs/common';
import { InvalidMessageError, type MessageKey, type PresenceState } from '@wafleet/engines';
import { EventLog, SessionRuntime, type RunningEngine } from '@wafleet/sessions';
import { MessageIntake } from './message-intake';
import { MessageStore } from './message-store';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView } from './message.view';
import { MessageNotFoundError, MessageRefusedError, SessionNotConnectedError } from './messages.errors';
import { isMediaKind, toOutgoingMessage } from './outgoing-content';
import { DataSource } from 'typeorm';

/** What only the session's owner can do, because it needs the session's engine. */
export type OwnerCall =
  | { op: 'send'; messageId: string }
  | { op: 'edit'; messageId: string; text: string }
  | { op: 'delete'; messageId: string }
  | { op: 'read'; chat: string }
  | { op: 'presence'; chat: string; state: PresenceState };

/**
 * The owner's side of messaging: sends a pending message under the WhatsApp id stored with it (a second
 * call for the same message sends nothing new), edits, deletes for everyone, marks chats read and sets
 * presence, each change stored under the lease epoch with its event.
 */
@Injectable()
export class MessageOwner {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: MessageStore,
    private readonly intake: MessageIntake,
    private readonly dataSource: DataSource,
    private readonly log: EventLog,
  ) {}

  async serve(sessionId: string, name: string, call: OwnerCall): Promise<unknown> {
    const running = this.runtime.engineOf(sessionId);
    if (!running) throw new SessionNotConnectedError(name, 'not running on its owner (it is starting or stopping)');
    switch (call.op) {
      case 'send':
        return this.send(running, call.messageId);
      case 'edit':
        return this.edit(running, call.messageId, call.text);
      case 'delete':
        return this.delete(running, call.messageId);
      case 'read':
        return this.read(running, call.chat);
      case 'presence':
        await running.engine.sendPresence(call.chat, call.state);
        return { chat: call.chat, state: call.state };
    }
  }

  private async send(running: RunningEngine, messageId: string): Promise<MessageView> {
    const row = await this.store.find(running.sessionId, messageId);
    if (!row) throw new MessageNotFoundError(messageId);
    if (row.status !== 'pending') return toMessageView(row);
    const upload = isMediaKind(row.kind) ? await this.store.upload(row.id) : undefined;
    // In the session's queue: the receipts the engine reports while this send is under way are stored
    // after it, so the log says sent before delivered.
    const view = await this.intake.serial(running.sessionId, async () => {
      let sent;
      try {
        sent = await running.engine.send(toOutgoingMessage(row, upload));
      } catch (error) {
        if (error instanceof InvalidMessageError) {
          await this.store.markFailed(running, row.id, { code: error.code, message: error.message });
          throw new MessageRefusedError(error.message);
        }
        throw error;
      }
      return this.store.markSent(running, row.id, sent);
    });
    if (!view) return toMessageView((await this.store.find(running.sessionId, row.id))!);
    await this.intake.signal(view.id, view.status);
    return view;
  }

  private async edit(running: RunningEngine, messageId: string, text: string): Promise<MessageView> {
    const row = await this.ownMessage(running, messageId, 'edited');
    await running.engine.edit(keyOf(row), text);
    return this.changeStored(running, row, `body = $2, edited = true`, [text], { type: 'message.edited', data: { id: row.id, waId: row.wa_id, chat: row.chat, text } });
  }

  private async delete(running: RunningEngine, messageId: string): Promise<MessageView> {
    const row = await this.ownMessage(running, messageId, 'deleted');
    await running.engine.deleteForEveryone(keyOf(row));
    return this.changeStored(running, row, `deleted = true, body = NULL`, [], { type: 'message.deleted', data: { id: row.id, waId: row.wa_id, chat: row.chat } });
  }

  /** Sends read receipts for the chat's received messages and clears its unread count. */
  private async read(running: RunningEngine, chat: string): Promise<{ chat: string; unread: number; marked: number }> {
    const rows: MessageRow[] = await this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND chat = $2 AND direction = 'in' AND NOT from_me ORDER BY created_at DESC LIMIT 100`,
      [running.sessionId, chat],
    );
    if (rows.length) await running.engine.markRead(rows.map(keyOf));
    await this.store.markChatRead(running.sessionId, chat);
    return { chat, unread: 0, marked: rows.length };
  }

  private async ownMessage(running: RunningEngine, messageId: string, what: string): Promise<MessageRow> {
    const row = await this.store.find(running.sessionId, messageId);
    if (!row) throw new MessageNotFoundError(messageId);
    if (!row.from_me || row.status === 'pending' || row.status === 'failed' || row.deleted) {
      throw new MessageRefusedError(`only a message this account sent, and that is not deleted, can be ${what}`);
    }
    return row;
  }

  private async changeStored(
    running: RunningEngine,
    row: MessageRow,
    set: string,
    params: unknown[],
    event: { type: 'message.edited'; data: { id: string; waId: string; chat: string; text: string } } | { type: 'message.deleted'; data: { id: string; waId: string; chat: string } },
  ): Promise<MessageView> {
    const stored = await this.intake.serial(running.sessionId, () =>
      this.log.transact(async (manager, append) => {
        const [updated]: MessageRow[] = await manager.query(
          `WITH updated AS (UPDATE messages SET ${set}, updated_at = now() WHERE id = $1 RETURNING ${MESSAGE_COLUMNS}) SELECT * FROM updated`,
          [row.id, ...params],
        );
        await append({ sessionId: running.sessionId, epoch: running.epoch, ...event } as Parameters<typeof append>[0]);
        return updated;
      }),
    );
    return toMessageView(stored ?? row);
  }
}

function keyOf(row: MessageRow): MessageKey {
  return { id: row.wa_id, chat: row.chat, fromMe: row.from_me, ...(row.chat.endsWith('@g.us') && row.sender ? { participant: row.sender } : {}) };
}
