import { MigrationInterface, QueryRunner } from 'typeorm';

export class SessionEvents1764100000000 implements MigrationInterface {
  name = 'SessionEvents1764100000000';

  async up(db: QueryRunner): Promise<void> {
    // The sequence lives in the session row: appending bumps it under the row lock, fenced on the lease
    // epoch, so it is gap-free and carries on across failovers (libs/sessions event-log.ts).
    await db.query(`ALTER TABLE sessions ADD COLUMN last_seq bigint NOT NULL DEFAULT 0`);
    // Every event of every session, kept until the session is deleted (README "Events").
    await db.query(`
      CREATE TABLE session_events (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        id uuid NOT NULL UNIQUE,
        tenant_id uuid NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        occurred_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (session_id, seq)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE session_events`);
    await db.query(`ALTER TABLE sessions DROP COLUMN last_seq`);
  }
}
