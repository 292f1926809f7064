import { MigrationInterface, QueryRunner } from 'typeorm';

export class TenantsAndApiKeys1763848800000 implements MigrationInterface {
  name = 'TenantsAndApiKeys1763848800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY,
        name varchar(100) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT tenants_name_unique UNIQUE (name)
      )`);
    await db.query(`CREATE INDEX tenants_list ON tenants (created_at, id)`);
    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        key_prefix varchar(16) NOT NULL,
        key_hash bytea NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        last_used_at timestamptz(3),
        revoked_at timestamptz(3)
      )`);
    await db.query(`CREATE INDEX api_keys_prefix ON api_keys (key_prefix) WHERE revoked_at IS NULL`);
    await db.query(`CREATE INDEX api_keys_tenant_list ON api_keys (tenant_id, created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_keys`);
    await db.query(`DROP TABLE tenants`);
  }
}
