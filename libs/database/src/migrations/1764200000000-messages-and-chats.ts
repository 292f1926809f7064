import { MigrationInterface, QueryRunner } from 'typeorm';

export class MessagesAndChats1764200000000 implements MigrationInterface {
  name = 'MessagesAndChats1764200000000';

  async up(db: QueryRunner): Promise<void> {
    // One row per message, sent or received. An outgoing row is written with its WhatsApp id before the
    // engine sends it, so a retry resends the same id and a receipt always finds its row.
    await db.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        wa_id text NOT NULL,
        chat text NOT NULL,
        sender text,
        from_me boolean NOT NULL,
        direction text NOT NULL CHECK (direction IN ('in', 'out')),
        kind text NOT NULL,
        body text,
        content jsonb NOT NULL DEFAULT '{}',
        media jsonb,
        quoted_id text,
        status text NOT NULL,
        error jsonb,
        wa_timestamp timestamptz(3),
        edited boolean NOT NULL DEFAULT false,
        deleted boolean NOT NULL DEFAULT false,
        idempotency_key text,
        request_hash text,
        response jsonb,
        send_attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (session_id, chat, from_me, wa_id)
      )`);
    await db.query(`CREATE UNIQUE INDEX messages_idempotency ON messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
    await db.query(`CREATE INDEX messages_by_chat ON messages (session_id, chat, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX messages_by_session ON messages (session_id, created_at DESC, id DESC)`);
    // The owner's send queue: what each session still has to send, oldest first.
    await db.query(`CREATE INDEX messages_pending ON messages (session_id, created_at, id) WHERE status = 'pending'`);
    // Bytes of outgoing media between the request and the send: the replica that took the request is not
    // always the one that sends. Removed once WhatsApp holds the file.
    await db.query(`
      CREATE TABLE message_uploads (
        message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        data bytea NOT NULL
      )`);
    await db.query(`
      CREATE TABLE chats (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        jid text NOT NULL,
        tenant_id uuid NOT NULL,
        last_message_id uuid,
        last_message_at timestamptz(3) NOT NULL,
        unread integer NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, jid)
      )`);
    await db.query(`CREATE INDEX chats_by_recency ON chats (session_id, last_message_at DESC, jid)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE chats`);
    await db.query(`DROP TABLE message_uploads`);
    await db.query(`DROP TABLE messages`);
  }
}
