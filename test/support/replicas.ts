import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { createTestDatabase, type TestDatabase } from './postgres';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from './redis';
import { removeDir, startServer, tempDir, type ServerProcess } from './server';
import { ADMIN_KEY } from './topology';

/**
 * Server processes as replicas of one deployment: one fresh PostgreSQL database, Redis under a prefix of
 * their own, and one wa-sim they all reach. Each replica is `replica-<name>` with a DATA_DIR of its own.
 */
export class ReplicaSet {
  readonly servers = new Map<string, ServerProcess>();
  private readonly dirs: string[] = [];

  private constructor(
    readonly sim: WaSimServer,
    readonly database: TestDatabase,
    private readonly env: Record<string, string>,
  ) {}

  /** @param env settings every replica shares (LEASE_TTL_MS, heartbeats, …) */
  static async open(label: string, env: Record<string, string> = {}): Promise<ReplicaSet> {
    await requireRedis();
    const sim = new WaSimServer();
    const simPort = await sim.start();
    const database = await createTestDatabase();
    return new ReplicaSet(sim, database, {
      DATABASE_URL: database.url,
      ADMIN_API_KEY: ADMIN_KEY,
      SYNC_BACKEND: 'redis',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix(label),
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      ...env,
    });
  }

  async boot(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const dir = tempDir(`replica-${name}`);
    this.dirs.push(dir);
    const server = await startServer({ ...this.env, ...env, DATA_DIR: dir, INSTANCE_ID: `replica-${name}` });
    this.servers.set(name, server);
    return server;
  }

  get(name: string): ServerProcess {
    const server = this.servers.get(name);
    if (!server) throw new Error(`no replica ${name} is running`);
    return server;
  }

  /** The replica holding a live-or-lapsed lease on the session, as the database says; null when none. */
  async ownerOf(sessionId: string): Promise<string | null> {
    const [row] = await this.database.query(`SELECT owner_instance_id AS owner FROM sessions WHERE id = $1`, [sessionId]);
    return (row?.owner as string | null) ?? null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((server) => server.stop()));
    await this.sim.stop();
    await this.database.drop();
    this.dirs.forEach(removeDir);
  }
}
