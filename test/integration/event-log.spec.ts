import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RETENTION_BATCH, RetentionSweep } from '@wafleet/core';
import { EventLog, SessionEvents, type SessionEvent } from '@wafleet/sessions';
import { migratedDatabase, whileRetentionTurnTaken, type TestDatabase } from '../support/postgres';
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

  it('makes a change with its event in one statement: side by side with transactions without a gap, and neither when nothing changed or the epoch moved on', async () => {
    await database.query(`CREATE TABLE IF NOT EXISTS event_log_changes (session_id uuid PRIMARY KEY, n int NOT NULL)`);
    await database.query(`CREATE TABLE IF NOT EXISTS event_log_hooked (event_id uuid PRIMARY KEY)`);
    const written: number[] = [];
    const unhook = log.onAppended({ sql: `INSERT INTO event_log_hooked (event_id) SELECT id FROM appended RETURNING 1`, written: (_event, rows) => written.push(rows) });
    try {
      const sessionId = await createSession();
      const first = (await leases.of('replica-a').claim(sessionId))!;
      await database.query(`INSERT INTO event_log_changes (session_id, n) VALUES ($1, 0)`, [sessionId]);
      const bump = (epoch: string, below: number) =>
        log.appendChange<'session.qr', { n: number }>(sessionId, epoch, 'session.qr', {
          sql: `UPDATE event_log_changes c SET n = c.n + 1 FROM fence WHERE c.session_id = fence.id AND c.n < $1 RETURNING c.n`,
          data: `jsonb_build_object('qr', 'n=' || change.n)`,
          params: [below],
        });
      const countOf = async () => (await database.query<{ n: number }>(`SELECT n FROM event_log_changes WHERE session_id = $1`, [sessionId]))[0]!.n;

      // Changes and transactions that append, side by side on the same session row.
      const changes = Array.from({ length: 30 }, () => bump(first, 1000));
      const appends = Array.from({ length: 30 }, (_, i) =>
        log.transact(async (manager, append) => {
          await manager.query('SELECT pg_sleep(0.002)');
          return append({ sessionId, epoch: first, type: 'session.qr', data: { qr: `tx-${i}` } });
        }),
      );
      const made = await Promise.all(changes);
      await Promise.all(appends);
      expect(await stored(sessionId)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(await countOf()).toBe(30);
      expect(made.map((result) => result!.changed.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      for (const result of made) expect(result!.event.data).toEqual({ qr: `n=${result!.changed.n}` });
      expect(published.filter((e) => e.sessionId === sessionId)).toHaveLength(60);
      // The hook wrote one row with each event, in its statement, and was told so.
      expect(written.slice(-60)).toEqual(Array.from({ length: 60 }, () => 1));
      expect((await database.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_log_hooked h JOIN session_events e ON e.id = h.event_id WHERE e.session_id = $1`, [sessionId]))[0]!.n).toBe(60);

      // A change that matches nothing appends nothing and takes no number.
      expect(await bump(first, 0)).toBeNull();

      // Another owner takes the session: the old epoch changes nothing.
      await dataSource.query(`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [sessionId]);
      const second = (await leases.of('replica-b').claim(sessionId))!;
      const before = published.length;
      expect(await bump(first, 1000)).toBeNull();
      expect(await countOf()).toBe(30);
      expect(published.length).toBe(before);

      const resumed = await bump(second, 1000);
      expect(resumed?.event).toMatchObject({ seq: 61, type: 'session.qr', data: { qr: 'n=31' } });
      expect(published.at(-1)).toEqual(resumed?.event);
      expect(await stored(sessionId)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
    } finally {
      unhook();
    }
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

  it('deletes events older than the retention in batches, one replica at a time, and numbers on from where it was', async () => {
    const sessionId = await createSession();
    const epoch = (await leases.of('replica-a').claim(sessionId))!;
    for (let i = 0; i < 5; i++) await log.record(sessionId, epoch, 'session.qr', { qr: `qr-${i}` });
    await database.query(`UPDATE session_events SET occurred_at = now() - interval '31 days' WHERE session_id = $1 AND seq <= 3`, [sessionId]);
    // Plenty of old events of another session, more than one sweep's batch.
    const crowded = await createSession();
    await database.query(
      `INSERT INTO session_events (session_id, seq, id, tenant_id, type, data, occurred_at)
       SELECT $1, n, gen_random_uuid(), $2, 'session.qr', '{"qr":"old"}', now() - interval '40 days' FROM generate_series(1, $3::int) AS n`,
      [crowded, tenantId, RETENTION_BATCH + 10],
    );

    // Another replica holds the turn: this one deletes nothing.
    expect(await whileRetentionTurnTaken(database.url, 'session_events', () => log.prune(30, 100))).toBe(0);
    expect(await log.prune(30, 2)).toBe(2);
    const deletes: number[] = [];
    const sweep = new RetentionSweep({
      what: 'events',
      days: 30,
      deleteBatch: async (days, limit) => {
        const deleted = await log.prune(days, limit);
        deletes.push(deleted);
        return deleted;
      },
    });
    expect(await sweep.sweep()).toBe(RETENTION_BATCH + 13 - 2);
    expect(deletes).toEqual([RETENTION_BATCH, 11]);
    expect(await stored(sessionId)).toEqual([4, 5]);
    expect(await stored(crowded)).toEqual([]);
    expect((await log.replay(tenantId, sessionId, 0, 10)).map((event) => event.seq)).toEqual([4, 5]);
    expect((await log.record(sessionId, epoch, 'session.qr', { qr: 'after' }))?.seq).toBe(6);
  });
});
