import { MigrationInterface, QueryRunner } from 'typeorm';

export class Billing1764400000000 implements MigrationInterface {
  name = 'Billing1764400000000';

  async up(db: QueryRunner): Promise<void> {
    // A NULL limit is no limit; a tenant without a plan is unlimited in every way.
    await db.query(`
      CREATE TABLE plans (
        id uuid PRIMARY KEY,
        name varchar(100) NOT NULL,
        requests_per_minute integer CHECK (requests_per_minute >= 0),
        messages_per_day integer CHECK (messages_per_day >= 0),
        max_sessions integer CHECK (max_sessions >= 0),
        max_running_campaigns integer CHECK (max_running_campaigns >= 0),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT plans_name_unique UNIQUE (name)
      )`);
    await db.query(`CREATE INDEX plans_list ON plans (created_at, id)`);
    // RESTRICT: a plan in use cannot be deleted (the API answers 409 before it gets here).
    await db.query(`ALTER TABLE tenants ADD COLUMN plan_id uuid REFERENCES plans (id) ON DELETE RESTRICT`);
    await db.query(`CREATE INDEX tenants_by_plan ON tenants (plan_id) WHERE plan_id IS NOT NULL`);
    // Days are UTC dates. Message figures are written in the transaction that records the message;
    // API calls are summed in memory on each replica and added about once a second.
    await db.query(`
      CREATE TABLE usage_daily (
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        day date NOT NULL,
        messages_sent bigint NOT NULL DEFAULT 0,
        messages_received bigint NOT NULL DEFAULT 0,
        api_calls bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, day)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE usage_daily`);
    await db.query(`ALTER TABLE tenants DROP COLUMN plan_id`);
    await db.query(`DROP TABLE plans`);
  }
}
