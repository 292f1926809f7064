import { createTestDatabase, TestDatabase } from './postgres';
import { removeDir, ServerProcess, startServer, tempDir } from './server';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';
export const METRICS_KEY = 'test-metrics-key-0123456789';

/** One booted server on one database, for a describe block. */
export interface Booted {
  server: ServerProcess;
  /** The PostgreSQL behind the server; undefined on the embedded database. */
  database?: TestDatabase;
}

export type DatabaseKind = 'embedded' | 'postgres';
export const DATABASE_KINDS: DatabaseKind[] = ['embedded', 'postgres'];

/**
 * Boots the server on a fresh database of the given kind before the block's tests and stops it after:
 * an empty DATA_DIR for the embedded one, a newly created database for PostgreSQL. `env` may be a
 * function, read at boot: for what an earlier `beforeAll` starts (a wa-sim's port, say).
 */
export function bootFor(kind: DatabaseKind, env: Record<string, string> | (() => Record<string, string>) = {}): Booted {
  const booted = {} as Booted;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir(kind);
    booted.database = kind === 'postgres' ? await createTestDatabase() : undefined;
    booted.server = await startServer({
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      METRICS_API_KEY: METRICS_KEY,
      ...(booted.database ? { DATABASE_URL: booted.database.url } : {}),
      ...(typeof env === 'function' ? env() : env),
    });
  }, 150_000);
  afterAll(async () => {
    await booted.server?.stop();
    await booted.database?.drop();
    removeDir(dataDir);
  }, 60_000);
  return booted;
}
