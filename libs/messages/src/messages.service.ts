import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Quotas, type TakenMessage } from '@wafleet/billing';
import { AppConfig } from '@wafleet/config';
import { ValidationFailedError, type Page } from '@wafleet/core';
import { downloadMedia, newMessageId, type DownloadedMedia, type PresenceState } from '@wafleet/engines';
import { SessionNotFoundError, SessionsService, SessionUnownedError, type SessionView } from '@wafleet/sessions';
import { Bus, Rendezvous } from '@wafleet/sync';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, QueryFailedError } from 'typeorm';
import { toChatJid } from './jid';
import { resolveMedia } from './media-source';
import { MessageDispatcher } from './message-dispatcher';
import { MessageOwner, type OwnerCall } from './message-owner';
import { newOutgoingId } from './message-rows';
import { hasReached, statusKey, type ForwardStatus } from './message-status';
import { MessageStore, type ChatView, type NewOutgoing } from './message-store';
import { toMessageView, type MessageRow, type MessageView, type StoredAnswer } from './message.view';
import { DEFAULT_WAIT_MS, type SendMessageDto } from './messages.dto';
import { IdempotencyKeyReusedError, MessageNotFoundError, ReplayedError, SessionNotConnectedError } from './messages.errors';
import { isMediaKind, toStoredContent, type KeyLookup } from './outgoing-content';

/** The Bus command a replica serves for the sessions it owns. */
const OWNER_COMMAND = 'messages.command';
const OWNER_TIMEOUT_MS = 30_000;
const FOREIGN_KEY_VIOLATION = '23503';
const POLL_MS = 100;
/** How long a retry waits for the first request's answer before answering from the message as it is. */
const REPLAY_WAIT_MS = 5_000;

type OwnerCommand = OwnerCall & { sessionId: string; name: string };

/** An answer and its HTTP status: 202 queued (or the awaited status not reached in time), 201 the awaited status reached. */
export interface SendAnswer {
  httpStatus: 201 | 202;
  body: MessageView;
}

/**
 * Messages of a tenant's sessions, from any replica. A send is written (with its WhatsApp id and any
 * media bytes) on the replica that took the request and answered at once; the session's owner sends it
 * from its queue (MessageDispatcher), so nothing accepted is lost to a crash or a failover.
 * `Idempotency-Key` makes a retry, on any replica, answer what the first request answered and never send
 * twice; `wait` answers once the status is reached, whichever replica stores it.
 */
@Injectable()
export class MessagesService implements OnModuleInit {
  private readonly logger = new Logger(MessagesService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly store: MessageStore,
    private readonly owner: MessageOwner,
    private readonly dispatcher: MessageDispatcher,
    private readonly bus: Bus,
    private readonly rendezvous: Rendezvous,
    private readonly dataSource: DataSource,
    private readonly quotas: Quotas,
  ) {}

  onModuleInit(): void {
    this.bus.handle(OWNER_COMMAND, (payload) => {
      const { sessionId, name, ...call } = payload as OwnerCommand;
      return this.owner.serve(sessionId, name, call as OwnerCall);
    });
  }

  async send(tenantId: string, sessionRef: string, dto: SendMessageDto, options: { idempotencyKey?: string; wait?: ForwardStatus; timeoutMs?: number }): Promise<SendAnswer> {
    // A moment-old read is enough to accept a send: one accepted for a session stopped in that moment stays queued, as one accepted just before the stop.
    const session = await this.sessions.recent(tenantId, sessionRef);
    const key = options.idempotencyKey;
    // Only a request with a key is ever compared with another.
    const requestHash = key ? hashRequest(session.id, dto, options.wait) : '';
    if (key) {
      const existing = await this.store.byIdempotencyKey(tenantId, key);
      if (existing) return this.replay(session, existing, requestHash);
    }
    // Queued only for a linked session that is meant to run: it sends them once it is connected.
    if (session.desiredState !== 'running' || !session.me) throw new SessionNotConnectedError(session.name, session.status);
    const chat = toChatJid(dto.to, 'to');
    const media = isMediaKind(dto.kind)
      ? await resolveMedia(dto.kind, dto.media!, { maxBytes: this.config.messages.mediaMaxBytes, allowPrivate: this.config.messages.mediaUrlAllowPrivate })
      : undefined;
    const { body, content } = await toStoredContent(dto, media, this.lookup(session.id));
    const id = newOutgoingId();
    const written = await this.insertOutgoing(tenantId, sessionRef, {
      id,
      tenantId,
      sessionId: session.id,
      waId: newMessageId(),
      chat,
      kind: dto.kind,
      body,
      content: content as Record<string, unknown>,
      quotedId: content.quoted?.id ?? null,
      idempotencyKey: key ?? null,
      requestHash: key ? requestHash : null,
      upload: media?.data ?? null,
    });
    if (!written) return this.replay(session, (await this.store.byIdempotencyKey(tenantId, key!))!, requestHash);
    this.dispatcher.announce(session.id);
    const answer = await this.awaitStatus(session.id, toMessageView(written), options);
    if (key) await this.store.saveAnswer(id, answer);
    return answer;
  }

  /**
   * Stores the message and takes its unit of the daily quota: after validation (a 400 costs nothing),
   * only for a message that is new (a replay, also one racing the first request, costs nothing), and
   * before it is committed where the write has a transaction, so a send over the quota stores nothing.
   * A unit taken for a message whose write then failed is given back. The session read a moment ago may
   * have been deleted since: that send is for no session, not a 500. The plan is read before the
   * transaction: inside it, on the embedded database, a read would wait forever for the one connection.
   */
  private async insertOutgoing(tenantId: string, sessionRef: string, message: NewOutgoing): Promise<MessageRow | undefined> {
    let taken: TakenMessage | undefined;
    const limits = await this.quotas.limitsOf(tenantId);
    try {
      return await this.store.insertOutgoing(message, async () => {
        taken = await this.quotas.takeMessage(tenantId, limits);
      });
    } catch (error) {
      await taken?.giveBack();
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new SessionNotFoundError(sessionRef);
      throw error;
    }
  }

  async list(tenantId: string, sessionRef: string, chat: string | undefined, limit: number, cursor?: string): Promise<Page<MessageView>> {
    const session = await this.sessions.get(tenantId, sessionRef);
    return this.store.list(session.id, chat ? toChatJid(chat, 'chat') : undefined, limit, cursor);
  }

  async get(tenantId: string, sessionRef: string, messageId: string): Promise<MessageView> {
    const session = await this.sessions.get(tenantId, sessionRef);
    return toMessageView(await this.found(session.id, messageId));
  }

  /** The message's media, fetched from WhatsApp's media host and decrypted: any replica can. */
  async media(tenantId: string, sessionRef: string, messageId: string): Promise<DownloadedMedia & { fileName?: string }> {
    const session = await this.sessions.get(tenantId, sessionRef);
    const row = await this.found(session.id, messageId);
    if (!row.media) throw new MessageNotFoundError(`${messageId}/media`);
    const data = await downloadMedia(row.media);
    return { data, mimetype: row.media.mimetype, fileName: row.media.fileName };
  }

  async chats(tenantId: string, sessionRef: string, limit: number, cursor?: string): Promise<Page<ChatView>> {
    const session = await this.sessions.get(tenantId, sessionRef);
    const offset = cursor ? decodeOffset(cursor) : 0;
    const { data, more } = await this.store.chats(session.id, limit, offset);
    return { data, nextCursor: more ? Buffer.from(`chats|${offset + limit}`).toString('base64url') : null };
  }

  async edit(tenantId: string, sessionRef: string, messageId: string, text: string): Promise<MessageView> {
    const session = await this.sessions.get(tenantId, sessionRef);
    return this.toOwner(session, { op: 'edit', messageId: (await this.found(session.id, messageId)).id, text }) as Promise<MessageView>;
  }

  async delete(tenantId: string, sessionRef: string, messageId: string): Promise<void> {
    const session = await this.sessions.get(tenantId, sessionRef);
    await this.toOwner(session, { op: 'delete', messageId: (await this.found(session.id, messageId)).id });
  }

  async markRead(tenantId: string, sessionRef: string, chat: string): Promise<unknown> {
    const session = await this.sessions.get(tenantId, sessionRef);
    return this.toOwner(session, { op: 'read', chat: toChatJid(chat, 'chat') });
  }

  async presence(tenantId: string, sessionRef: string, chat: string, state: PresenceState): Promise<unknown> {
    const session = await this.sessions.get(tenantId, sessionRef);
    const jid = state === 'available' || state === 'unavailable' ? '' : toChatJid(chat, 'chat');
    return this.toOwner(session, { op: 'presence', chat: jid, state });
  }

  private async awaitStatus(sessionId: string, view: MessageView, options: { wait?: ForwardStatus; timeoutMs?: number }): Promise<SendAnswer> {
    const wanted = options.wait;
    if (!wanted) return { httpStatus: 202, body: view };
    if (hasReached(view.status, wanted)) return { httpStatus: 201, body: view };
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_WAIT_MS);
    try {
      // A status stored before this wait began was signalled already, and the signal is kept for a while.
      await this.rendezvous.wait(statusKey(view.id, wanted), Math.max(1, deadline - Date.now()));
    } catch (error) {
      this.logger.warn({ err: error, messageId: view.id }, 'waiting for a status over the sync backend failed; polling the database');
    }
    let latest = toMessageView((await this.store.find(sessionId, view.id))!);
    while (!hasReached(latest.status, wanted) && Date.now() < deadline) {
      await sleep(POLL_MS);
      latest = toMessageView((await this.store.find(sessionId, view.id))!);
    }
    return { httpStatus: hasReached(latest.status, wanted) ? 201 : 202, body: latest };
  }

  /**
   * A request whose Idempotency-Key was seen: the first answer, once there is one. When the first request
   * never answered (its replica died while it waited), the message as it is now becomes the answer: it
   * was accepted, and its owner sends it either way.
   */
  private async replay(session: SessionView, existing: MessageRow, requestHash: string): Promise<SendAnswer> {
    if (existing.request_hash !== requestHash) throw new IdempotencyKeyReusedError();
    const giveUpAt = Date.now() + REPLAY_WAIT_MS;
    let row: MessageRow = existing;
    while (!row.response && Date.now() < giveUpAt) {
      await sleep(POLL_MS);
      row = (await this.store.find(session.id, row.id)) ?? row;
    }
    if (!row.response) {
      await this.store.saveAnswer(row.id, { httpStatus: 202, body: toMessageView(row) });
      row = (await this.store.find(session.id, row.id)) ?? row;
    }
    return replayAnswer(row.response!);
  }

  private async toOwner(session: SessionView, call: OwnerCall): Promise<unknown> {
    const [lease]: { owner: string }[] = await this.dataSource.query(
      `SELECT owner_instance_id AS owner FROM sessions WHERE id = $1 AND lease_expires_at > now()`,
      [session.id],
    );
    if (!lease) {
      if (session.desiredState === 'running') throw new SessionUnownedError(session.name, this.config.registry.leaseTtlMs);
      throw new SessionNotConnectedError(session.name, session.status);
    }
    const command: OwnerCommand = { ...call, sessionId: session.id, name: session.name };
    if (lease.owner === this.config.instanceId) return this.owner.serve(session.id, session.name, call);
    return this.bus.request(lease.owner, OWNER_COMMAND, command, OWNER_TIMEOUT_MS);
  }

  private lookup(sessionId: string): KeyLookup {
    return async (idOrWaId, field) => {
      const row = await this.store.find(sessionId, idOrWaId);
      if (!row) throw new ValidationFailedError([{ field, problems: [`${field} names no message of this session`] }]);
      const key = { id: row.wa_id, chat: row.chat, fromMe: row.from_me, ...(row.chat.endsWith('@g.us') && row.sender ? { participant: row.sender } : {}) };
      return { key, text: row.body };
    };
  }

  private async found(sessionId: string, messageId: string): Promise<MessageRow> {
    const row = await this.store.find(sessionId, messageId);
    if (!row) throw new MessageNotFoundError(messageId);
    return row;
  }
}

function hashRequest(sessionId: string, dto: SendMessageDto, wait: ForwardStatus | undefined): string {
  return createHash('sha256').update(JSON.stringify({ sessionId, dto, wait: wait ?? null })).digest('base64url');
}

function replayAnswer(answer: StoredAnswer): SendAnswer {
  if (answer.httpStatus === 201 || answer.httpStatus === 202) return answer as SendAnswer;
  const { error } = answer.body as { error: { code: string; message: string; details?: unknown } };
  throw new ReplayedError(answer.httpStatus, error.code, error.message, error.details);
}

function decodeOffset(cursor: string): number {
  const [tag, raw] = Buffer.from(cursor, 'base64url').toString().split('|');
  const offset = Number(raw);
  if (tag !== 'chats' || !Number.isInteger(offset) || offset < 0) throw new ValidationFailedError([{ field: 'cursor', problems: ['cursor is not one this API returned'] }]);
  return offset;
}
