import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventLog, SessionEvents, type SessionEvent } from '@wafleet/sessions';
import { migratedDatabase, type TestDatabase } from '../support/postgres';
import { testLeases } from '../support/leases';

describe('the session event log on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let log: EventLog;
  const published: SessionEvent[] = [];
  const leases = testLeases(() => database.url, () => dataSource);

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    // A pool wide enough for the concurrent appenders to hold transactions side by side.
    await dataSource.destroy();
    dataSource = await new DataSource({ type: 'postgres', url: database.url, poolSize: 12 }).initialize();
    const events = new SessionEvents();
    events.subscribe((event) => published.push(event));
    log = new EventLog(dataSource, events);
  });

  afterAll(async () => {
    leases.stop();
    await dataSource?.destroy();
    await database?.drop();
  });

  async function createSession(): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name) VALUES ($1, $2, $3)`, [id, tenantId, `s-${id}`]);
    return id;
  }

  const stored = async (sessionId: string) =>
    (await database.query<{ seq: string }>(`SELECT seq FROM session_events WHERE session_id = $1 ORDER BY seq`, [sessionId])).map((row) => Number(row.seq));

  it('numbers concurrent appends from parallel transactions 1..n with no gap, publishing each after commit', async () => {
    const sessionId = await createSession();
    const epoch = (await leases.of('replica-a').claim(sessionId))!;
    const appenders = Array.from({ length: 40 }, (_, i) =>
      log.transact(async (manager, append) => {
        // Work before and after the append keeps transactions open side by side.
        await manager.query('SELECT pg_sleep(0.005)');
        const event = await append({ sessionId, epoch, type: 'session.qr', data: { qr: `qr-${i}` } });
        await manager.query('SELECT pg_sleep(0.005)');
        return event!.seq;
      }),
    );
    const seqs = await Promise.all(appenders);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await stored(sessionId)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(published.filter((e) => e.sessionId === sessionId)).toHaveLength(40);

    // A rolled-back transaction leaves no gap: its number goes to the next append, and nothing was published.
    await expect(
      log.transact(async (manager, append) => {
        await append({ sessionId, epoch, type: 'session.qr', data: { qr: 'rolled back' } });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(published.some((e) => e.sessionId === sessionId && (e.data as { qr: string }).qr === 'rolled back')).toBe(false);
    const next = await log.record(sessionId, epoch, 'session.qr', { qr: 'after the rollback' });
    expect(next).toMatchObject({ seq: 41, tenantId, sessionId, type: 'session.qr', data: { qr: 'after the rollback' } });
    expect(published.at(-1)).toEqual(next);
  });

  it('appends nothing for a stale epoch, rolls back its work, and carries on under the new epoch after a claim', async () => {
    const sessionId = await createSession();
    const a = leases.of('replica-a');
    const first = (await a.claim(sessionId))!;
    await log.record(sessionId, first, 'session.status', { status: 'starting', me: null });
    await log.record(sessionId, first, 'session.status', { status: 'scan_qr', me: null });

    // Another owner takes the session (as after a failover): the old epoch is fenced off.
    await dataSource.query(`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [sessionId]);
    const second = (await leases.of('replica-b').claim(sessionId))!;
    expect(BigInt(second)).toBeGreaterThan(BigInt(first));

    const before = published.length;
    const stale = await log.record(sessionId, first, 'session.status', { status: 'stopped', me: null }, async (manager) => {
      await manager.query(`UPDATE sessions SET metadata = '{"stale":true}' WHERE id = $1`, [sessionId]);
    });
    expect(stale).toBeNull();
    expect(published.length).toBe(before);
    expect((await database.query(`SELECT metadata FROM sessions WHERE id = $1`, [sessionId]))[0]).toEqual({ metadata: {} });
    expect(await log.transact((manager, append) => append({ sessionId, epoch: first, type: 'session.qr', data: { qr: 'x' } }))).toBeNull();

    const resumed = await log.record(sessionId, second, 'session.status', { status: 'starting', me: null });
    expect(resumed?.seq).toBe(3);
    expect(await stored(sessionId)).toEqual([1, 2, 3]);
  });

  it('replays in order after a seq, in pages, and only for the session tenant', async () => {
    const sessionId = await createSession();
    const epoch = (await leases.of('replica-a').claim(sessionId))!;
    for (let i = 0; i < 5; i++) await log.record(sessionId, epoch, 'session.qr', { qr: `qr-${i}` });

    const all = await log.replay(tenantId, sessionId, 0, 100);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'session.qr',
      tenantId,
      sessionId,
      seq: 1,
      occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      data: { qr: 'qr-0' },
    });
    expect((await log.replay(tenantId, sessionId, 2, 2)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await log.replay(tenantId, sessionId, 5, 10)).toEqual([]);
    expect(await log.replay(randomUUID(), sessionId, 0, 10)).toEqual([]);
  });
});
