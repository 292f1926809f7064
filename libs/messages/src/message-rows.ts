import { countMessageUsageSql } from '@wafleet/billing';
import { newTimeOrderedId } from '@wafleet/core';
import type { InboundMessage } from '@wafleet/engines';
import type { RunningEngine } from '@wafleet/sessions';
import type { EntityManager } from 'typeorm';
import { MESSAGE_COLUMNS, type MessageRow } from './message.view';

// Rows the message store writes: an outgoing message, a received message, and its chat brought up to date.

/**
 * The id of a new outgoing message: a UUIDv7, which grows with every call in this process. The send
 * queue goes by `created_at` (the database's clock, to the millisecond) and then by id, so two sends
 * written within the same millisecond, or by one statement, go out in the order they were accepted.
 */
export const newOutgoingId = newTimeOrderedId;

/** An outgoing message as the replica that took the request writes it, before any engine sends it. */
export interface NewOutgoing {
  id: string;
  tenantId: string;
  sessionId: string;
  waId: string;
  chat: string;
  kind: string;
  body: string | null;
  content: Record<string, unknown>;
  quotedId: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  upload: Buffer | null;
  /**
   * Queued by a campaign, which may run before its session is linked: with no link now, it is sent from
   * the link the session gets. Otherwise it belongs to the link of the moment it is written (none: never sent).
   */
  waitsForLink?: boolean;
}

/**
 * The `link` of a message written in this statement: the account session `session` is linked to now, or
 * `ifNone` when it has none ('' for a message that belongs to no link, NULL for one that waits for the next).
 */
const linkNow = (session: string, ifNone: string) => `COALESCE((SELECT me->>'id' FROM sessions WHERE id = ${session}), ${ifNone})`;

/**
 * Writes a pending outgoing message row in `manager`'s transaction (the caller writes its media bytes);
 * with an idempotency key already held, nothing.
 */
export function insertOutgoingRow(manager: EntityManager, message: NewOutgoing): Promise<MessageRow[]> {
  // A CTE so the driver answers the returned rows, as for any SELECT.
  return manager.query(
    `WITH inserted AS (INSERT INTO messages (id, tenant_id, session_id, wa_id, chat, sender, from_me, direction, kind, body, content, quoted_id, status, idempotency_key, request_hash, link)
     VALUES ($1, $2, $3, $4, $5, NULL, true, 'out', $6, $7, $8::jsonb, $9, 'pending', $10, $11, ${linkNow('$3::uuid', `CASE WHEN $12::boolean THEN NULL ELSE '' END`)})
     ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING ${MESSAGE_COLUMNS})
     SELECT * FROM inserted`,
    [
      message.id,
      message.tenantId,
      message.sessionId,
      message.waId,
      message.chat,
      message.kind,
      message.body,
      JSON.stringify(message.content),
      message.quotedId,
      message.idempotencyKey,
      message.requestHash,
      message.waitsForLink ?? false,
    ],
  );
}

/**
 * Writes pending outgoing messages without an idempotency key in one statement, all or none (a send
 * with a key goes through `insertOutgoingRow`, in a transaction of its own).
 * @returns their rows, in no particular order
 */
export async function insertOutgoingRows(manager: EntityManager, messages: NewOutgoing[]): Promise<MessageRow[]> {
  const contents = messages.map((message) => JSON.stringify(message.content));
  const written: { id: string; created_at: Date; updated_at: Date }[] = await manager.query(
    `WITH inserted AS (INSERT INTO messages (id, tenant_id, session_id, wa_id, chat, sender, from_me, direction, kind, body, content, quoted_id, status, link)
     SELECT id, tenant_id, session_id, wa_id, chat, NULL, true, 'out', kind, body, content, quoted_id, 'pending', ${linkNow('m.session_id', `''`)}
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[])
       AS m (id, tenant_id, session_id, wa_id, chat, kind, body, content, quoted_id)
     RETURNING id, created_at, updated_at)
     SELECT * FROM inserted`,
    [
      messages.map((message) => message.id),
      messages.map((message) => message.tenantId),
      messages.map((message) => message.sessionId),
      messages.map((message) => message.waId),
      messages.map((message) => message.chat),
      messages.map((message) => message.kind),
      messages.map((message) => message.body),
      contents,
      messages.map((message) => message.quotedId),
    ],
  );
  const byId = new Map(messages.map((message, index) => [message.id, { message, content: contents[index]! }]));
  return written.map(({ id, created_at, updated_at }) => {
    const { message, content } = byId.get(id)!;
    return {
      id,
      tenant_id: message.tenantId,
      session_id: message.sessionId,
      wa_id: message.waId,
      chat: message.chat,
      sender: null,
      from_me: true,
      direction: 'out',
      kind: message.kind,
      body: message.body,
      // As the jsonb column gives it back.
      content: JSON.parse(content) as Record<string, unknown>,
      media: null,
      quoted_id: message.quotedId,
      status: 'pending',
      error: null,
      wa_timestamp: null,
      edited: false,
      deleted: false,
      idempotency_key: null,
      request_hash: null,
      response: null,
      created_at,
      updated_at,
    };
  });
}

/**
 * Stores a received message unless it is stored already (WhatsApp delivers again what was not
 * acknowledged), in the same statement its chat brought up to date (one more unread, but for what the
 * account wrote on another device and reactions) and, unless the account wrote it, counted in usage.
 */
export async function insertInbound(manager: EntityManager, running: RunningEngine, message: Exclude<InboundMessage, { kind: 'edit' | 'delete' }>): Promise<MessageRow | undefined> {
  const { body, content, media } = inboundParts(message);
  const [row]: MessageRow[] = await manager.query(
    `WITH inserted AS (
       INSERT INTO messages (id, tenant_id, session_id, wa_id, chat, sender, from_me, direction, kind, body, content, media, quoted_id, status, wa_timestamp)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14)
       ON CONFLICT (session_id, chat, from_me, wa_id) DO NOTHING
       RETURNING ${MESSAGE_COLUMNS}),
     usage AS (${countMessageUsageSql('messages_received', 'inserted', 'NOT from_me')}),
     chat AS (${touchChatSql('inserted', `CASE WHEN NOT from_me AND kind <> 'reaction' THEN 1 ELSE 0 END`)})
     SELECT * FROM inserted`,
    [
      running.tenantId,
      running.sessionId,
      message.id,
      message.chat,
      message.sender,
      message.fromMe,
      message.fromMe ? 'out' : 'in',
      message.kind,
      body,
      JSON.stringify(content),
      media ? JSON.stringify(media) : null,
      message.quotedId ?? null,
      message.fromMe ? 'sent' : 'received',
      message.timestamp,
    ],
  );
  return row;
}

/** The body (text or caption), content and media of a received message, as the row keeps them. */
function inboundParts(message: Exclude<InboundMessage, { kind: 'edit' | 'delete' }>): { body: string | null; content: Record<string, unknown>; media: unknown } {
  const extra: Record<string, unknown> = {};
  if (message.pushName) extra.pushName = message.pushName;
  if (message.mentions?.length) extra.mentions = message.mentions;
  switch (message.kind) {
    case 'text':
      return { body: message.text, content: extra, media: null };
    case 'location':
      return { body: null, content: { ...extra, location: message.location }, media: null };
    case 'contact':
      return { body: null, content: { ...extra, contact: message.contact }, media: null };
    case 'reaction':
      return { body: message.emoji, content: { ...extra, target: message.target, emoji: message.emoji }, media: null };
    case 'unsupported':
      return { body: null, content: { ...extra, contentType: message.contentType }, media: null };
    default:
      return { body: message.text ?? null, content: message.voice ? { ...extra, voice: true } : extra, media: message.media };
  }
}

/**
 * The body of a data-modifying CTE that makes each message of `source` (a CTE of message rows) its
 * chat's latest, and adds `unread` (an SQL expression over the row: 1 or 0) to the chat's unread count.
 */
export const touchChatSql = (source: string, unread: string): string =>
  `INSERT INTO chats (session_id, jid, tenant_id, last_message_id, last_message_at, unread)
   SELECT session_id, chat, tenant_id, id, now(), ${unread} FROM ${source}
   ON CONFLICT (session_id, jid) DO UPDATE
     SET last_message_id = EXCLUDED.last_message_id, last_message_at = now(), unread = chats.unread + EXCLUDED.unread`;
