import { DataSource, MigrationExecutor } from 'typeorm';

/** Arbitrary but fixed: every wafleet replica takes this advisory lock around migrations. */
const MIGRATION_LOCK_KEY = 0x7761666c; // "wafl"

/**
 * Runs pending migrations, each in its own transaction, under a session advisory lock on one
 * connection — replicas booting together against one PostgreSQL wait for each other instead of racing.
 * Returns the names of the migrations this call applied.
 */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const executor = new MigrationExecutor(dataSource, runner);
      executor.transaction = 'each';
      const applied = await executor.executePendingMigrations();
      return applied.map((migration) => migration.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
