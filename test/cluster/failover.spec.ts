import { AuthStateStore, StaleEpochError } from '@wafleet/engines';
import { DataSource } from 'typeorm';
import { ClusterSessions, type SessionRow, type SimStats } from '../../tools/cluster/cluster-sessions';
import { LocalCluster } from '../../tools/cluster/local-cluster';
import { sleep } from '../../tools/cluster/process-group';
import { requirePostgres, TEST_DATABASE_URL } from '../support/postgres';
import { requireRedis, TEST_REDIS_URL } from '../support/redis';

/**
 * Small enough for quick failovers, large enough that a replica taking over several sessions on a busy
 * two-core machine still renews in time: at 2 s the renewals starve while engines start, replicas fence
 * themselves and sessions churn between them.
 */
const LEASE_TTL_MS = 4_000;
/**
 * Engines ping wa-sim this often, and wa-sim drops a connection quiet for SIM_IDLE_TIMEOUT_MS, as WhatsApp
 * drops a client whose pings stopped. A paused replica's connections are gone before its leases lapse
 * (at least TTL − TTL/3 after its last renewal), so survivors log in without replacing anything.
 */
const KEEPALIVE_MS = 500;
const SIM_IDLE_TIMEOUT_MS = 2_000;
const SESSIONS = Array.from({ length: 6 }, (_, i) => `fleet-${i}`);

/**
 * Three replicas behind nginx, six paired sessions, and the ways a replica goes away: a crash, a drained
 * stop, a pause longer than the lease, and a rolling restart. wa-sim's counters are the wire-level proof:
 * a moved session logs in again (no new registration, so no new QR), and a conflict would mean two
 * replicas connected one account at once.
 */
describe('session failover through nginx on three replicas', () => {
  let cluster: LocalCluster;
  let fleet: ClusterSessions;
  let paired: SimStats;

  const allWorking = async () => (await fleet.statuses()).filter(({ status }) => status === 'working').length === SESSIONS.length;
  const ownersOf = async (moved: SessionRow[]) => {
    const names = new Set(moved.map((row) => row.name));
    return (await fleet.rows()).filter((row) => names.has(row.name));
  };

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    cluster = await LocalCluster.start({
      replicas: 3,
      postgresAdminUrl: TEST_DATABASE_URL,
      redisUrl: TEST_REDIS_URL,
      nginxReadTimeoutSeconds: 3,
      simIdleTimeoutMs: SIM_IDLE_TIMEOUT_MS,
      // Rebalancing would legitimately move sessions back to a replica that returns; these tests watch failover alone.
      env: { LEASE_TTL_MS: String(LEASE_TTL_MS), REBALANCE_PER_MINUTE: '0', WA_KEEPALIVE_MS: String(KEEPALIVE_MS) },
    });
    fleet = await ClusterSessions.open(cluster, 'failover');
    await fleet.createPaired(SESSIONS, '55119800', 60_000);
    paired = await fleet.simStats();
  }, 90_000);

  afterAll(async () => {
    await fleet?.close();
    await cluster?.stop();
  }, 30_000);

  it('paired every session through nginx, each on one replica, with no conflict', async () => {
    expect(paired).toMatchObject({ registrations: SESSIONS.length, live: SESSIONS.length, conflicts: 0 });
    const rows = await fleet.rows();
    expect(rows.map((row) => row.status)).toEqual(SESSIONS.map(() => 'working'));
    expect(rows.every((row) => /^replica-[0-2]$/.test(row.owner ?? ''))).toBe(true);
  });

  it('moves a crashed (SIGKILL) replica’s sessions to survivors once the lease lapses, as logins, without a conflict', async () => {
    const { index, sessions } = await fleet.busiestReplica();
    const victim = cluster.replica(index);
    const before = await fleet.simStats();

    try {
      const killedAt = Date.now();
      expect(await victim.kill()).toBe(137);
      const doneAt = await fleet.waitForTakeover(sessions, victim.instanceId, before.logins, LEASE_TTL_MS + 10_000);

      // Tests bound time generously; bench:failover measures it against the goal (TTL + 2 s).
      expect(doneAt - killedAt).toBeLessThanOrEqual(LEASE_TTL_MS + 8_000);
      expect(await fleet.lastHandoffReasons(sessions.map((s) => s.id))).toEqual(sessions.map(() => 'lapsed'));
      expect((await ownersOf(sessions)).map((row) => row.owner)).not.toContain(victim.instanceId);
      expect(await allWorking()).toBe(true);
      expect(await fleet.simStats()).toMatchObject({ registrations: before.registrations, live: SESSIONS.length, conflicts: 0 });
    } finally {
      await cluster.restartReplica(index);
    }
  }, 30_000);

  it('hands a drained (SIGTERM) replica’s sessions to survivors by release, not lease expiry, without a conflict', async () => {
    const { index, sessions } = await fleet.busiestReplica();
    const victim = cluster.replica(index);
    const before = await fleet.simStats();

    try {
      const stoppedAt = Date.now();
      victim.signal('SIGTERM');
      const doneAt = await fleet.waitForTakeover(sessions, victim.instanceId, before.logins, 10_000);

      // Released, not lapsed: survivors took the sessions without waiting out the lease. The time itself is
      // bench:failover's to measure against the goal (2 s); a test only bounds it generously.
      expect(await fleet.lastHandoffReasons(sessions.map((s) => s.id))).toEqual(sessions.map(() => 'released'));
      expect(doneAt - stoppedAt).toBeLessThan(LEASE_TTL_MS + 4_000);
      expect(await victim.exited).toBe(143);
      expect(await allWorking()).toBe(true);
      expect(await fleet.simStats()).toMatchObject({ registrations: before.registrations, live: SESSIONS.length, conflicts: 0 });
    } finally {
      await cluster.restartReplica(index);
    }
  }, 30_000);

  describe('an owner paused (SIGSTOP) for twice the TTL, then resumed', () => {
    let victimIndex: number;
    let moved: SessionRow[];
    let before: SimStats;
    let takenOver: SimStats;
    let ownersAfterTakeover: SessionRow[];
    let authAfterTakeover: string;

    beforeAll(async () => {
      const busiest = await fleet.busiestReplica();
      victimIndex = busiest.index;
      moved = busiest.sessions;
      before = await fleet.simStats();
      const victim = cluster.replica(victimIndex);
      victim.signal('SIGSTOP');
      try {
        await sleep(2 * LEASE_TTL_MS);
        await fleet.waitForTakeover(moved, victim.instanceId, before.logins, 10_000);
        takenOver = await fleet.simStats();
        ownersAfterTakeover = await ownersOf(moved);
        authAfterTakeover = await fleet.authStateDigest(moved.map((row) => row.id));
      } finally {
        victim.signal('SIGCONT');
      }
      // Long enough for the resumed replica's lease timer, reconciler and sockets to act on what they find.
      await sleep(LEASE_TTL_MS);
    }, 30_000);

    it('lets survivors take its sessions while it is paused, without a conflict', () => {
      expect(ownersAfterTakeover.map((row) => row.owner)).not.toContain(cluster.replica(victimIndex).instanceId);
      expect(ownersAfterTakeover.every((row) => row.status === 'working')).toBe(true);
      expect(takenOver.registrations).toBe(before.registrations);
      expect(takenOver.logins).toBeGreaterThanOrEqual(before.logins + moved.length);
      // A paused process cannot close its sockets: wa-sim dropped them for going quiet, before the leases
      // lapsed, so no survivor's login replaced a connection that was still live.
      expect(takenOver.idleDrops - before.idleDrops).toBeGreaterThanOrEqual(moved.length);
      expect(takenOver.conflicts).toBe(before.conflicts);
    });

    it('does not reconnect them once resumed: owners, epochs, logins and conflicts stay as the survivors left them', async () => {
      expect(await ownersOf(moved)).toEqual(ownersAfterTakeover);
      expect(await fleet.simStats()).toMatchObject({ registrations: before.registrations, logins: takenOver.logins, live: SESSIONS.length, conflicts: takenOver.conflicts });
      expect(await allWorking()).toBe(true);
      expect(cluster.replica(victimIndex).running()).toBe(true);
    });

    it('fenced itself on resuming: its log says so, its engines stopped storing nothing, the auth rows stayed untouched', async () => {
      const output = cluster.replica(victimIndex).output();
      expect(output).toMatch(/could not renew session leases in time|session lease was taken by another replica/);
      expect(output).toContain('session lease lost; stopping its engine');
      expect(output).toContain('engine stopped without the lease; the new owner reports');
      expect(await fleet.authStateDigest(moved.map((row) => row.id))).toBe(authAfterTakeover);
    });

    it('refuses an auth-state write under the epoch the paused replica held', async () => {
      const dataSource = await new DataSource({ type: 'postgres', url: cluster.databaseUrl }).initialize();
      try {
        for (const row of moved) {
          // What the paused owner's engine would write when it woke: its creds, under its old epoch.
          const stale = new AuthStateStore(dataSource, row.id, BigInt(row.epoch));
          const { creds } = await stale.load();
          await expect(stale.saveCreds(creds)).rejects.toBeInstanceOf(StaleEpochError);
        }
      } finally {
        await dataSource.destroy();
      }
      expect(await fleet.authStateDigest(moved.map((row) => row.id))).toBe(authAfterTakeover);
    });
  });

  it('survives a rolling restart of every replica with every session working, no new registration and no conflict', async () => {
    const before = await fleet.simStats();
    for (let index = 0; index < cluster.replicaCount; index++) await cluster.restartReplica(index);
    await fleet.until(allWorking, 15_000, 'every session working after the rolling restart');
    const rows = await fleet.rows();
    expect(rows.every((row) => row.status === 'working' && /^replica-[0-2]$/.test(row.owner ?? ''))).toBe(true);
    expect(await fleet.simStats()).toMatchObject({ registrations: before.registrations, live: SESSIONS.length, conflicts: before.conflicts });
  }, 90_000);
});
