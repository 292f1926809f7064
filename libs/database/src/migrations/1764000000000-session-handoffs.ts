import { MigrationInterface, QueryRunner } from 'typeorm';

export class SessionHandoffs1764000000000 implements MigrationInterface {
  name = 'SessionHandoffs1764000000000';

  async up(db: QueryRunner): Promise<void> {
    // One row each time a claim moves a session to a new owner, written by the claim itself; only the
    // last few per session are kept (libs/registry session-handoffs.ts), so the table stays small.
    await db.query(`
      CREATE TABLE session_handoffs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        from_instance_id varchar(64),
        to_instance_id varchar(64) NOT NULL,
        epoch bigint NOT NULL,
        reason varchar(10) NOT NULL,
        at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT session_handoffs_reason_check CHECK (reason IN ('claimed', 'released', 'lapsed'))
      )`);
    await db.query(`CREATE INDEX session_handoffs_by_session ON session_handoffs (session_id, at DESC, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE session_handoffs`);
  }
}
