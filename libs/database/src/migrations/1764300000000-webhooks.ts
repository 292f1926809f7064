import { MigrationInterface, QueryRunner } from 'typeorm';

export class Webhooks1764300000000 implements MigrationInterface {
  name = 'Webhooks1764300000000';

  async up(db: QueryRunner): Promise<void> {
    // A tenant's endpoints. `events` holds event types or '*'; `session_ids` NULL means every session.
    // The secret signs (it must be readable); during a rotation the previous one signs too, until
    // `previous_secret_until`.
    await db.query(`
      CREATE TABLE webhook_subscriptions (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        url text NOT NULL,
        events text[] NOT NULL,
        session_ids uuid[],
        enabled boolean NOT NULL DEFAULT true,
        secret text NOT NULL,
        previous_secret text,
        previous_secret_until timestamptz(3),
        disabled_reason text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX webhook_subscriptions_by_tenant ON webhook_subscriptions (tenant_id, created_at, id)`);
    // The outbox: one row per event and matching subscription, written in the event's transaction.
    // `payload` is the body to send, fixed at enqueue. While delivering, `next_attempt_at` is when the
    // claim lapses, so one index range finds both due rows and abandoned claims.
    await db.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL,
        session_id uuid,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        seq bigint,
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'delivered', 'dead', 'disabled')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
        claimed_by text,
        claim_expires_at timestamptz(3),
        last_status integer,
        last_error text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        delivered_at timestamptz(3)
      )`);
    await db.query(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'delivering')`);
    await db.query(`CREATE INDEX webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, created_at DESC, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webhook_deliveries`);
    await db.query(`DROP TABLE webhook_subscriptions`);
  }
}
