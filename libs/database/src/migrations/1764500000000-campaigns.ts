import { MigrationInterface, QueryRunner } from 'typeorm';

export class Campaigns1764500000000 implements MigrationInterface {
  name = 'Campaigns1764500000000';

  async up(db: QueryRunner): Promise<void> {
    // A bulk send of one template through one session. Its status changes by conditional UPDATEs, so
    // any replica may start, pause, resume or cancel it and two of them racing change it once.
    await db.query(`
      CREATE TABLE campaigns (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'stopped')),
        reason text,
        template jsonb NOT NULL,
        media_data bytea,
        per_minute integer NOT NULL,
        jitter_percent integer NOT NULL DEFAULT 0,
        start_at timestamptz(3),
        total integer NOT NULL DEFAULT 0,
        -- The latest message queued for it: the next waits until this one has left 'pending'.
        current_message_id uuid,
        started_at timestamptz(3),
        finished_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX campaigns_by_tenant ON campaigns (tenant_id, created_at DESC, id DESC)`);
    // What runners and the scheduler look for.
    await db.query(`CREATE INDEX campaigns_active ON campaigns (status, session_id) WHERE status IN ('scheduled', 'running')`);
    // One row per recipient. `message_id` is set in the same transaction that writes the message row, so a
    // recipient with a message id is never given another one; the message's status is the recipient's.
    await db.query(`
      CREATE TABLE campaign_recipients (
        campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        position integer NOT NULL,
        jid text NOT NULL,
        variables jsonb NOT NULL DEFAULT '{}',
        message_id uuid,
        queued_at timestamptz(3),
        PRIMARY KEY (campaign_id, position),
        UNIQUE (campaign_id, jid)
      )`);
    await db.query(`CREATE INDEX campaign_recipients_unsent ON campaign_recipients (campaign_id, position) WHERE message_id IS NULL`);
    await db.query(`CREATE INDEX campaign_recipients_message ON campaign_recipients (message_id) WHERE message_id IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE campaign_recipients`);
    await db.query(`DROP TABLE campaigns`);
  }
}
