import { MigrationInterface, QueryRunner } from 'typeorm';

export class SessionsAndAuthState1763900000000 implements MigrationInterface {
  name = 'SessionsAndAuthState1763900000000';

  async up(db: QueryRunner): Promise<void> {
    // owner_instance_id, lease_expires_at and lease_epoch are the lease (DESIGN "Session ownership"):
    // lease_epoch only grows, and every auth-state write is fenced on it.
    await db.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}',
        status varchar(20) NOT NULL DEFAULT 'stopped',
        desired_state varchar(10) NOT NULL DEFAULT 'stopped',
        me jsonb,
        owner_instance_id varchar(64),
        lease_expires_at timestamptz(3),
        lease_epoch bigint NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT sessions_name_unique UNIQUE (tenant_id, name),
        CONSTRAINT sessions_desired_state_check CHECK (desired_state IN ('stopped', 'running'))
      )`);
    await db.query(`CREATE INDEX sessions_tenant_list ON sessions (tenant_id, created_at, id)`);
    // The reconciler looks for running sessions whose lease is missing or lapsed.
    await db.query(`CREATE INDEX sessions_reconcile ON sessions (desired_state, lease_expires_at)`);
    // One row per Baileys key (creds are type 'creds', id ''), so a keys.set touches only what changed.
    await db.query(`
      CREATE TABLE session_auth_state (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        type varchar(40) NOT NULL,
        id text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (session_id, type, id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE session_auth_state`);
    await db.query(`DROP TABLE sessions`);
  }
}
