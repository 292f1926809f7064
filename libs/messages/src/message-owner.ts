import { Injectable, Logger } from '@nestjs/common';
import { EngineNotConnectedError, InvalidMessageError, type MessageKey, type PresenceState } from '@wafleet/engines';
import { EventLog, SessionRuntime, type RunningEngine } from '@wafleet/sessions';
import { DataSource } from 'typeorm';
import { MessageChanges } from './message-changes';
import { MessageIntake } from './message-intake';
import { MessageStore } from './message-store';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView } from './message.view';
import { MessageNotFoundError, MessageRefusedError, SessionNotConnectedError } from './messages.errors';
import { isMediaKind, toOutgoingMessage } from './outgoing-content';

/** What only the session's owner can do at once, because it needs the session's engine. */
export type OwnerCall =
  | { op: 'edit'; messageId: string; text: string }
  | { op: 'delete'; messageId: string }
  | { op: 'read'; chat: string }
  | { op: 'presence'; chat: string; state: PresenceState };

/** Sends that fail for a reason other than the connection are tried this many times, then marked failed. */
const MAX_SEND_ATTEMPTS = 3;

/** How a send of a pending message ended. */
export type SendOutcome = 'sent' | 'failed' | 'not_connected' | 'retry';

/**
 * The owner's side of messaging: sends a pending message under the WhatsApp id stored with it (so a
 * second try after a crash or a failover is the same message, never a new one), edits, deletes for
 * everyone, marks chats read and sets presence, each change stored under the lease epoch with its event.
 */
@Injectable()
export class MessageOwner {
  private readonly logger = new Logger(MessageOwner.name);

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: MessageStore,
    private readonly changes: MessageChanges,
    private readonly intake: MessageIntake,
    private readonly dataSource: DataSource,
    private readonly log: EventLog,
  ) {}

  async serve(sessionId: string, name: string, call: OwnerCall): Promise<unknown> {
    const running = this.runtime.engineOf(sessionId);
    if (!running) throw new SessionNotConnectedError(name, 'not running on its owner (it is starting or stopping)');
    switch (call.op) {
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

  /** Sends one pending message and records what came of it; waiters for its status are woken. */
  async sendPending(running: RunningEngine, row: MessageRow): Promise<SendOutcome> {
    let outgoing;
    try {
      outgoing = toOutgoingMessage(row, isMediaKind(row.kind) ? await this.store.upload(row.id) : undefined);
    } catch (error) {
      return this.fail(running, row, { code: 'unsendable', message: (error as Error).message });
    }
    try {
      await this.intake.sending(
        running,
        row.wa_id,
        () => running.engine.send(outgoing),
        async (sent) => {
          const view = await this.changes.markSent(running, row.id, sent);
          if (view) await this.intake.signal(view.id, view.status);
        },
      );
      return 'sent';
    } catch (error) {
      if (error instanceof EngineNotConnectedError) return 'not_connected';
      if (error instanceof InvalidMessageError) return this.fail(running, row, { code: 'message_refused', message: error.message });
      this.logger.warn({ err: error, sessionId: running.sessionId, messageId: row.id }, 'sending a message failed; it will be tried again');
      if ((await this.store.countAttempt(row.id)) < MAX_SEND_ATTEMPTS) return 'retry';
      return this.fail(running, row, { code: 'send_failed', message: `sending failed ${MAX_SEND_ATTEMPTS} times: ${(error as Error).message}` });
    }
  }

  private async fail(running: RunningEngine, row: MessageRow, error: { code: string; message: string }): Promise<SendOutcome> {
    const view = await this.intake.serial(running.sessionId, () => this.changes.markFailed(running, row.id, error));
    if (view) await this.intake.signal(view.id, 'failed');
    return 'failed';
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
