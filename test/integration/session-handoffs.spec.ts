import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Registry } from 'prom-client';
import { loadConfig } from '@wafleet/config';
import { HANDOFFS_KEPT_PER_SESSION, SessionLeaseMetrics, SessionLeases } from '@wafleet/registry';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

const TTL_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The handoff log a claim writes, and the lease metrics beside it, on PostgreSQL. */
describe('session handoffs on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  const connections: DataSource[] = [];

  async function replica(instanceId: string): Promise<{ leases: SessionLeases; registry: Registry }> {
    const config = loadConfig({ DATABASE_URL: database.url, ADMIN_API_KEY: 'x'.repeat(32), INSTANCE_ID: instanceId, LEASE_TTL_MS: String(TTL_MS) });
    const connection = await new DataSource({ type: 'postgres', url: database.url, poolSize: 2 }).initialize();
    connections.push(connection);
    const registry = new Registry();
    return { leases: new SessionLeases(config, connection, new SessionLeaseMetrics(registry)), registry };
  }

  async function createSession(): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, desired_state) VALUES ($1, $2, $3, 'running')`, [id, tenantId, `s-${id}`]);
    return id;
  }

  const handoffs = (id: string) =>
    database.query(
      `SELECT from_instance_id AS "from", to_instance_id AS "to", epoch::int AS epoch, reason
       FROM session_handoffs WHERE session_id = $1 ORDER BY at, id`,
      [id],
    );

  const metric = async (registry: Registry, name: string, labels: Record<string, string> = {}) =>
    (await registry.getSingleMetric(name)!.get()).values.find((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))?.value;

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
  });

  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.destroy()));
    await dataSource?.destroy();
    await database?.drop();
  });

  it('records claimed, released and lapsed handoffs with the previous owner, and none for a re-claim by the live owner', async () => {
    const id = await createSession();
    const a = await replica('handoff-a');
    const b = await replica('handoff-b');

    const first = (await a.leases.claim(id))!;
    expect(await a.leases.claim(id)).toBe('2'); // the live owner again: no handoff
    expect(await b.leases.claim(id)).toBeNull();
    await a.leases.release(id, '2');
    expect(await b.leases.claim(id)).toBe('3');
    await sleep(TTL_MS + 200); // b never renews: its lease lapses
    expect(await a.leases.claim(id)).toBe('4');

    expect(first).toBe('1');
    expect(await handoffs(id)).toEqual([
      { from: null, to: 'handoff-a', epoch: 1, reason: 'claimed' },
      { from: 'handoff-a', to: 'handoff-b', epoch: 3, reason: 'released' },
      { from: 'handoff-b', to: 'handoff-a', epoch: 4, reason: 'lapsed' },
    ]);
    expect(await metric(a.registry, 'session_lease_claims_total', { result: 'won' })).toBe(3);
    expect(await metric(b.registry, 'session_lease_claims_total', { result: 'lost' })).toBe(1);
    expect(await metric(a.registry, 'session_handoffs_total', { reason: 'lapsed' })).toBe(1);
    expect(await metric(b.registry, 'session_handoffs_total', { reason: 'released' })).toBe(1);
  });

  it(`keeps only the last ${HANDOFFS_KEPT_PER_SESSION} handoffs of a session`, async () => {
    const id = await createSession();
    const [a, b] = [await replica('prune-a'), await replica('prune-b')];
    let epoch = '0';
    for (let i = 0; i < HANDOFFS_KEPT_PER_SESSION + 5; i++) {
      const [from, to] = i % 2 ? [a, b] : [b, a];
      if (i > 0) await from.leases.release(id, epoch);
      epoch = (await to.leases.claim(id))!;
    }
    const kept = await handoffs(id);
    expect(kept).toHaveLength(HANDOFFS_KEPT_PER_SESSION);
    expect(kept.at(-1)).toMatchObject({ epoch: HANDOFFS_KEPT_PER_SESSION + 5, reason: 'released' });
    expect(kept[0]).toMatchObject({ epoch: 6 });
  });

  it('counts held leases on the gauge, and a self-fence as lost leases', async () => {
    const id = await createSession();
    const { leases, registry } = await replica('gauge-a');
    const connection = connections.pop()!;
    leases.hold(id, (await leases.claim(id))!, () => undefined);
    expect(await metric(registry, 'session_leases_held')).toBe(1);
    await connection.destroy(); // renewals fail from now on
    await sleep(TTL_MS);
    leases.onApplicationShutdown();
    expect(await metric(registry, 'session_leases_held')).toBe(0);
    expect(await metric(registry, 'session_lease_self_fences_total')).toBe(1);
    expect(await metric(registry, 'session_leases_lost_total', { loss: 'self_fenced' })).toBe(1);
    expect(await metric(registry, 'session_lease_renew_failures_total')).toBeGreaterThanOrEqual(1);
  });
});
