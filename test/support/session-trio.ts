import { ClusterSessions, type SessionRow } from '../../tools/cluster/cluster-sessions';
import { LocalCluster, type Replica } from '../../tools/cluster/local-cluster';
import { requirePostgres, TEST_DATABASE_URL } from './postgres';
import { requireRedis, TEST_REDIS_URL } from './redis';

/** Quick failovers that still leave a busy two-core machine time to renew (as in failover.spec.ts). */
export const LEASE_TTL_MS = 4_000;
/** The owner pings wa-sim this often, and wa-sim drops a connection quiet for longer than SIM_IDLE_TIMEOUT_MS. */
export const KEEPALIVE_MS = 500;
export const SIM_IDLE_TIMEOUT_MS = 2_000;

/** Three replicas and the one session they serve: `a` owns it, `b` and `c` do not. */
export interface SessionTrio {
  cluster: LocalCluster;
  fleet: ClusterSessions;
  session: SessionRow;
  a: Replica;
  b: Replica;
  c: Replica;
}

/**
 * Three replicas behind nginx on PostgreSQL + Redis and wa-sim, with quick failovers and no rebalancing
 * (tests choose replicas by who owns the session), and one session of a new tenant paired through nginx.
 */
export async function sessionOnThreeReplicas(tenant: string, sessionName: string, phonePrefix: string): Promise<SessionTrio> {
  await requirePostgres();
  await requireRedis();
  const cluster = await LocalCluster.start({
    replicas: 3,
    postgresAdminUrl: TEST_DATABASE_URL,
    redisUrl: TEST_REDIS_URL,
    simIdleTimeoutMs: SIM_IDLE_TIMEOUT_MS,
    env: { LEASE_TTL_MS: String(LEASE_TTL_MS), REBALANCE_PER_MINUTE: '0', WA_KEEPALIVE_MS: String(KEEPALIVE_MS) },
  });
  const fleet = await ClusterSessions.open(cluster, tenant);
  await fleet.createPaired([sessionName], phonePrefix, 45_000);
  const session = (await fleet.rows()).find((row) => row.name === sessionName)!;
  const replicas = [0, 1, 2].map((index) => cluster.replica(index));
  const a = replicas.find((replica) => replica.instanceId === session.owner);
  if (!a) throw new Error(`no replica owns ${sessionName}: ${JSON.stringify(session)}`);
  const [b, c] = replicas.filter((replica) => replica !== a) as [Replica, Replica];
  return { cluster, fleet, session, a, b, c };
}
