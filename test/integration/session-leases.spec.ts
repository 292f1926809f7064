import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '@wafleet/config';
import { SessionLeaseMetrics, SessionLeases, type LeaseLoss } from '@wafleet/registry';
import { Registry } from 'prom-client';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

const TTL_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('session leases on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  const replicas: SessionLeases[] = [];

  /** The leases of one replica, on its own connection so one can fail while the others do not. */
  async function replica(instanceId: string, ttlMs = TTL_MS): Promise<{ leases: SessionLeases; connection: DataSource }> {
    const config = loadConfig({ DATABASE_URL: database.url, ADMIN_API_KEY: 'x'.repeat(32), INSTANCE_ID: instanceId, LEASE_TTL_MS: String(ttlMs) });
    const connection = await new DataSource({ type: 'postgres', url: database.url, poolSize: 2 }).initialize();
    const leases = new SessionLeases(config, connection, new SessionLeaseMetrics(new Registry()));
    replicas.push(leases);
    return { leases, connection };
  }

  async function createSession(): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, desired_state) VALUES ($1, $2, $3, 'running')`, [id, tenantId, `s-${id}`]);
    return id;
  }

  const row = async (id: string) =>
    (await database.query(`SELECT owner_instance_id AS owner, lease_epoch::text AS epoch, lease_expires_at > now() AS live FROM sessions WHERE id = $1`, [id]))[0];

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
  });

  afterAll(async () => {
    for (const leases of replicas) leases.onApplicationShutdown();
    await dataSource?.destroy();
    await database?.drop();
  });

  it('gives a session to one replica at a time, under a growing epoch, and to another once the lease lapses', async () => {
    const id = await createSession();
    const [a, b] = [await replica('replica-a'), await replica('replica-b')];

    const [first, second] = await Promise.all([a.leases.claim(id), b.leases.claim(id)]);
    expect([first, second].filter((epoch) => epoch !== null)).toEqual(['1']);
    const [winner, loser] = first ? [a, b] : [b, a];
    expect(await row(id)).toMatchObject({ owner: first ? 'replica-a' : 'replica-b', epoch: '1', live: true });
    expect(await loser.leases.claim(id)).toBeNull();

    // Not renewed (never held), the lease lapses by the database's clock; then the other replica takes it.
    await sleep(TTL_MS + 200);
    expect(await loser.leases.claim(id)).toBe('2');
    expect(await winner.leases.claim(id)).toBeNull();
    await Promise.all([a.connection.destroy(), b.connection.destroy()]);
  });

  it('keeps a held lease alive past its TTL, and tells the holder at once when another replica took it', async () => {
    const id = await createSession();
    const [a, b] = [await replica('replica-c'), await replica('replica-d')];
    const losses: LeaseLoss[] = [];
    a.leases.hold(id, (await a.leases.claim(id))!, (loss) => losses.push(loss));

    await sleep(TTL_MS * 2);
    expect(await row(id)).toMatchObject({ owner: 'replica-c', live: true });
    expect(await b.leases.claim(id)).toBeNull();

    // An operator (or a bug) hands the session over behind its back: the next renewal notices.
    await database.query(`UPDATE sessions SET owner_instance_id = 'replica-d', lease_epoch = lease_epoch + 1 WHERE id = $1`, [id]);
    await sleep(TTL_MS);
    expect(losses).toEqual(['taken']);
    await Promise.all([a.connection.destroy(), b.connection.destroy()]);
  });

  it('fences itself before its leases can lapse when it cannot renew them', async () => {
    const id = await createSession();
    const a = await replica('replica-e');
    const epoch = (await a.leases.claim(id))!;
    let fencedWhileLive: boolean | undefined;
    const fenced = new Promise<LeaseLoss>((resolve) =>
      a.leases.hold(id, epoch, (loss) => {
        // Read at the moment of fencing: the lease must still be this replica's, or two owners overlapped.
        void row(id).then((current) => {
          fencedWhileLive = current.live;
          resolve(loss);
        });
      }),
    );

    await a.connection.destroy(); // every renewal fails from now on
    expect(await fenced).toBe('self_fenced');
    expect(fencedWhileLive).toBe(true);
  });

  it('releases a lease so another replica claims at once, and only the holder at that epoch can', async () => {
    const id = await createSession();
    const [a, b] = [await replica('replica-f', 60_000), await replica('replica-g', 60_000)];
    const epoch = (await a.leases.claim(id))!;
    await b.leases.release(id, epoch); // not b's: nothing happens
    expect(await b.leases.claim(id)).toBeNull();
    await a.leases.release(id, epoch);
    expect(await b.leases.claim(id)).toBe(String(Number(epoch) + 1));
    await Promise.all([a.connection.destroy(), b.connection.destroy()]);
  });
});
