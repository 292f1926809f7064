import { randomBytes, randomUUID } from 'node:crypto';
import { migrate, MIGRATIONS } from '@wafleet/database';
import { DataSource } from 'typeorm';
import pg from 'pg';

/** Where tests find PostgreSQL: `TEST_DATABASE_URL`, by default the local server CI starts. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const unreachable = (error: Error) =>
  new Error(
    `PostgreSQL is not reachable at TEST_DATABASE_URL=${TEST_DATABASE_URL} (${error.message}). ` +
      'Set TEST_DATABASE_URL=postgres://user@host:port/db to a server where that user may create databases, ' +
      'or start the local one: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  );

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw unreachable(error as Error);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Fails with what to set or start when PostgreSQL does not answer. */
export const requirePostgres = (): Promise<void> => withAdmin(async () => undefined);

export interface TestDatabase {
  url: string;
  name: string;
  /** A client on the test database, for checks behind the API's back. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A freshly created, empty database for one test file; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `wafleet_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async query(sql, params) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    drop: () => withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A fresh database with wafleet's schema and one tenant, and a DataSource on it knowing `entities`. */
export async function migratedDatabase(
  entities: EntitySchemaTarget[] = [],
): Promise<{ database: TestDatabase; dataSource: DataSource; tenantId: string }> {
  const database = await createTestDatabase();
  const dataSource = await new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS, entities }).initialize();
  await migrate(dataSource);
  const tenantId = randomUUID();
  await database.query(`INSERT INTO tenants (id, name) VALUES ($1, 'acme')`, [tenantId]);
  return { database, dataSource, tenantId };
}

/** An entity class, as TypeORM takes it. */
type EntitySchemaTarget = new (...args: never[]) => unknown;

/**
 * Runs `work` while another connection holds the retention turn of `table` (as another replica's sweep
 * would), and releases it before closing: a closed connection's backend lets its locks go a moment late.
 */
export async function whileRetentionTurnTaken<T>(url: string, table: string, work: () => Promise<T>): Promise<T> {
  const other = await new DataSource({ type: 'postgres', url, poolSize: 1 }).initialize();
  try {
    await other.query(`SELECT pg_advisory_lock(hashtext($1))`, [`wafleet:retention:${table}`]);
    const result = await work();
    await other.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`wafleet:retention:${table}`]);
    return result;
  } finally {
    await other.destroy();
  }
}
