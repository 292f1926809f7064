import { MigrationInterface, QueryRunner } from 'typeorm';

export class InboundStanzas1764800000000 implements MigrationInterface {
  name = 'InboundStanzas1764800000000';

  async up(db: QueryRunner): Promise<void> {
    // A received message between its decryption and its storing: WhatsApp has it acknowledged as soon as it
    // is decrypted, so a crash before the message row is written would lose it. The stanza as it came, and
    // the plaintext of each encrypted part (`part`: its index among the stanza's children), let the next
    // connection of the session read it again; the transaction that stores the message deletes the rows.
    await db.query(`
      CREATE TABLE inbound_stanzas (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        stanza_id text NOT NULL,
        part integer NOT NULL,
        stanza bytea NOT NULL,
        plaintext bytea NOT NULL,
        staged_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, stanza_id, part)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE inbound_stanzas`);
  }
}
