import type { MediaDescriptor } from '@wafleet/engines';
import type { MessageEventView, MessageStatusName } from '@wafleet/sessions';

export type MessageView = MessageEventView;

/** A `messages` row as the driver returns it. */
export interface MessageRow {
  id: string;
  tenant_id: string;
  session_id: string;
  wa_id: string;
  chat: string;
  sender: string | null;
  from_me: boolean;
  direction: 'in' | 'out';
  kind: string;
  body: string | null;
  content: Record<string, unknown>;
  media: MediaDescriptor | null;
  quoted_id: string | null;
  status: MessageStatusName;
  error: { code: string; message: string } | null;
  wa_timestamp: Date | null;
  edited: boolean;
  deleted: boolean;
  idempotency_key: string | null;
  request_hash: string | null;
  response: StoredAnswer | null;
  created_at: Date;
  updated_at: Date;
}

/** The first answer to an idempotent send, replayed as it was to every retry with the same key. */
export interface StoredAnswer {
  httpStatus: number;
  body: unknown;
}

/** Every column but the stored answer and the idempotency bookkeeping, for reads that show a message. */
export const MESSAGE_COLUMNS = `id, tenant_id, session_id, wa_id, chat, sender, from_me, direction, kind, body, content, media,
  quoted_id, status, error, wa_timestamp, edited, deleted, idempotency_key, request_hash, response, created_at, updated_at`;

export function toMessageView(row: MessageRow): MessageView {
  const media = row.media ? { mimetype: row.media.mimetype, fileName: row.media.fileName, size: row.media.size, seconds: row.media.seconds } : null;
  return {
    id: row.id,
    sessionId: row.session_id,
    waId: row.wa_id,
    chat: row.chat,
    sender: row.sender,
    fromMe: row.from_me,
    direction: row.direction,
    kind: row.kind,
    text: row.body,
    content: row.content ?? {},
    media: media && (JSON.parse(JSON.stringify(media)) as typeof media),
    quotedId: row.quoted_id,
    status: row.status,
    error: row.error,
    timestamp: row.wa_timestamp ? row.wa_timestamp.toISOString() : null,
    edited: row.edited,
    deleted: row.deleted,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
