import pg from 'pg';
import { LocalCluster } from '../../tools/cluster/local-cluster';
import { call } from '../support/http';
import { requirePostgres, TEST_DATABASE_URL } from '../support/postgres';
import { requireRedis, TEST_REDIS_URL } from '../support/redis';
import { tenantKey, type SessionBody } from '../support/sessions';

const SESSIONS = 30;
const PAIR_CONCURRENCY = 4;

async function until(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Three replicas behind nginx: where sessions run, and that any replica serves any of them. */
describe('placement across replicas behind nginx', () => {
  let cluster: LocalCluster;
  let db: pg.Client;
  let key: string;
  const names = Array.from({ length: SESSIONS }, (_, i) => `spread-${i}`);
  /** wa-sim's registrations once every session is paired. */
  let registered = SESSIONS;
  const api = (path: string, options: { method?: string; body?: unknown } = {}) => call(`${cluster.url}${path}`, { key, ...options });

  /** Live leases per replica. */
  async function owners(): Promise<Map<string, number>> {
    const { rows } = await db.query<{ owner: string; n: number }>(
      `SELECT owner_instance_id AS owner, count(*)::int AS n FROM sessions WHERE lease_expires_at > now() GROUP BY 1`,
    );
    return new Map(rows.map((row) => [row.owner, row.n]));
  }

  /** Scans that failed and were made again with the session's next QR. */
  let rescans = 0;

  /**
   * Plays the phone: scans the QR the session shows. Under load a companion can miss the sim's reply
   * window; like a user, scan the next QR then (the failures are kept for the error message). The next
   * QR usually comes from a new registration, so each rescan may add one to wa-sim's count.
   */
  async function pair(name: string, phone: string): Promise<void> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      let qr: string | undefined;
      await until(async () => {
        const answer = await api(`/sessions/${name}/qr?format=raw`);
        qr = answer.status === 200 && !failures.some((f) => f.startsWith(answer.body.qr)) ? answer.body.qr : undefined;
        return qr !== undefined;
      }, `a QR for ${name}`, 60_000);
      const scan = await fetch(`${cluster.simUrl}/scan`, { method: 'POST', body: JSON.stringify({ qr, phone }) });
      if (scan.status === 200) return;
      failures.push(`${qr} → ${scan.status} ${await scan.text()}`);
      rescans++;
    }
    throw new Error(`could not pair ${name}: ${failures.join('; ')}`);
  }

  /** Every session working and held by a live lease: nothing in the middle of moving. */
  async function allWorking(): Promise<boolean> {
    const { body } = await api('/sessions?limit=200');
    const working = (body.data as SessionBody[]).filter((s) => s.status === 'working').length;
    return working === SESSIONS && [...(await owners()).values()].reduce((a, b) => a + b, 0) === SESSIONS;
  }

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    cluster = await LocalCluster.start({
      replicas: 3,
      postgresAdminUrl: TEST_DATABASE_URL,
      redisUrl: TEST_REDIS_URL,
      env: { LEASE_TTL_MS: '3000', REBALANCE_PER_MINUTE: '600' },
    });
    db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    key = await tenantKey(cluster.url, cluster.adminApiKey, 'placement');
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  }, 60_000);

  it(`spreads ${SESSIONS} sessions paired through nginx within each replica's fair share + 2`, async () => {
    await pool(names, PAIR_CONCURRENCY, async (name) => {
      expect((await api('/sessions', { method: 'POST', body: { name } })).status).toBe(201);
      expect((await api(`/sessions/${name}/start`, { method: 'POST' })).status).toBe(202);
      await pair(name, `55119${String(names.indexOf(name)).padStart(8, '0')}`);
    });
    await until(allWorking, 'every session working', 60_000);

    const loads = await owners();
    expect([...loads.values()].reduce((a, b) => a + b, 0)).toBe(SESSIONS);
    expect([...loads.keys()].sort()).toEqual(['replica-0', 'replica-1', 'replica-2']);
    expect(Math.max(...loads.values())).toBeLessThanOrEqual(SESSIONS / 3 + 2);
    // One registration per session, and one more at most for each scan made again: a session that was
    // started twice at once (two owners) would register twice with nothing to account for it.
    const stats = await cluster.simStats();
    expect(stats.conflicts).toBe(0);
    expect(stats.registrations).toBeGreaterThanOrEqual(SESSIONS);
    if (stats.registrations - rescans > SESSIONS) {
      // Say why: what the replicas logged about leases and engines that could have started a session again.
      const lines = [0, 1, 2].flatMap((i) => cluster.replica(i).output().split('\n').filter((l) => /lease|orphan|hand|takeover|restart|closed|reconnect/i.test(l)).slice(-8).map((l) => `r${i}: ${l.slice(0, 300)}`));
      throw new Error(`${stats.registrations} registrations for ${SESSIONS} sessions and ${rescans} rescans\n${lines.join('\n')}`);
    }
    registered = stats.registrations;
  }, 180_000);

  it('answers every session route correctly through nginx whoever owns the session', async () => {
    for (const name of names.slice(0, 6)) {
      expect((await api(`/sessions/${name}`)).body).toMatchObject({ name, status: 'working' });
      expect(await api(`/sessions/${name}/qr`)).toMatchObject({ status: 409, body: { error: { message: expect.stringContaining('is working') } } });
      expect(await api(`/sessions/${name}/pairing-code`, { method: 'POST', body: { phone: '5511900000000' } })).toMatchObject({ status: 409 });
    }
    expect(await api(`/sessions/${names[0]}/stop`, { method: 'POST' })).toMatchObject({ status: 200, body: { status: 'stopped' } });
    expect(await api(`/sessions/${names[0]}/start`, { method: 'POST' })).toMatchObject({ status: 202 });
    expect(await api(`/sessions/${names[1]}/restart`, { method: 'POST' })).toMatchObject({ status: 202 });
    await until(allWorking, 'every session working again', 30_000);
    // Paired sessions log in again; none of them registers anew.
    expect(await cluster.simStats()).toMatchObject({ registrations: registered, conflicts: 0 });
  }, 60_000);

  it('moves sessions to a replica that joins, toward a fair share, without a conflict', async () => {
    const before = await cluster.simStats();
    await cluster.addReplica();
    // 30 over 4: a share of 7.5, so 8 at most; holders above it hand over to the replica below it.
    await until(async () => ((await owners()).get('replica-3') ?? 0) >= 6, 'the new replica getting its share', 30_000).catch(async (error) => {
      const lines = [0, 1, 3].flatMap((i) => cluster.replica(i).output().split('\n').filter((l) => /hand|orphan|starting sessions|placing|cluster view|lease|fail|error/i.test(l)).slice(-5).map((l) => `r${i}: ${l.slice(0, 300)}`));
      const { rows } = await db.query(`SELECT id, owner_instance_id, lease_expires_at, now() AS now, status, desired_state, lease_epoch FROM sessions WHERE lease_expires_at IS NULL OR lease_expires_at <= now()`);
      throw new Error(`${(error as Error).message}; owners ${JSON.stringify([...(await owners())])}\n${JSON.stringify(rows)}\n${lines.join('\n')}`);
    });
    await until(allWorking, 'every session working', 30_000);
    const loads = await owners();
    expect(Math.max(...loads.values())).toBeLessThanOrEqual(8);
    expect(await cluster.simStats()).toMatchObject({ registrations: before.registrations, conflicts: 0 });
  }, 120_000);
});
