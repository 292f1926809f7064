import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '@wafleet/config';
import { EventLog, SessionEvents, type SessionEventType } from '@wafleet/sessions';
import { ENQUEUE_DELIVERIES_SQL, WebhookOutbox, type DeliveryOutcome } from '@wafleet/webhooks';
import { migratedDatabase, whileRetentionTurnTaken, type TestDatabase } from '../support/postgres';

/**
 * The webhook outbox on PostgreSQL: deliveries are written in the event's transaction and only for
 * matching subscriptions; concurrent claimers never share a row; a lapsed claim comes back to another
 * claimer, and the first one's late outcome is refused.
 */
describe('the webhook outbox on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let log: EventLog;
  let outbox: WebhookOutbox;

  const outboxOf = (instanceId: string) =>
    new WebhookOutbox(dataSource, loadConfig({ DATABASE_URL: database.url, ADMIN_API_KEY: 'x'.repeat(32), INSTANCE_ID: instanceId }));

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    await dataSource.destroy();
    dataSource = await new DataSource({ type: 'postgres', url: database.url, poolSize: 12 }).initialize();
    log = new EventLog(dataSource, new SessionEvents());
    outbox = outboxOf('replica-a');
    log.onAppended({ sql: ENQUEUE_DELIVERIES_SQL });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function createSession(tenant = tenantId): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name) VALUES ($1, $2, $3)`, [id, tenant, `s-${id}`]);
    return id;
  }

  async function subscribe(fields: { events: string[]; sessionIds?: string[] | null; enabled?: boolean; tenant?: string }): Promise<string> {
    const id = randomUUID();
    await database.query(
      `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, session_ids, enabled, secret) VALUES ($1, $2, 'http://127.0.0.1:9/hook', $3, $4, $5, 'whsec_x')`,
      [id, fields.tenant ?? tenantId, fields.events, fields.sessionIds ?? null, fields.enabled ?? true],
    );
    return id;
  }

  const append = (sessionId: string, type: SessionEventType, fail = false) =>
    log.transact(async (_manager, add) => {
      const event = await add({ sessionId, epoch: '0', type, data: { qr: 'x' } as never });
      if (fail) throw new Error('the work failed');
      return event!;
    });

  const deliveriesOf = (eventId: string) =>
    database.query<{ subscription_id: string; payload: any; status: string; seq: string }>(`SELECT subscription_id, payload, status, seq FROM webhook_deliveries WHERE event_id = $1`, [eventId]);

  async function clearQueue(): Promise<void> {
    await database.query(`DELETE FROM webhook_deliveries`);
    await database.query(`DELETE FROM webhook_subscriptions`);
  }

  it('writes one delivery per matching subscription with the event, and none when the event rolls back', async () => {
    await clearQueue();
    const sessionId = await createSession();
    const other = await createSession();
    const otherTenant = randomUUID();
    await database.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, [otherTenant, `other-${otherTenant}`]);
    const all = await subscribe({ events: ['*'] });
    const qrOnly = await subscribe({ events: ['session.qr'] });
    const qrOfSession = await subscribe({ events: ['session.qr'], sessionIds: [sessionId] });
    await subscribe({ events: ['session.qr'], sessionIds: [other] });
    await subscribe({ events: ['message.received', 'message.sent'] });
    await subscribe({ events: ['*'], enabled: false });
    await subscribe({ events: ['*'], tenant: otherTenant });

    const event = await append(sessionId, 'session.qr');
    const rows = await deliveriesOf(event.id);
    expect(rows.map((row) => row.subscription_id).sort()).toEqual([all, qrOnly, qrOfSession].sort());
    expect(rows[0]).toMatchObject({
      status: 'pending',
      seq: String(event.seq),
      payload: { type: 'session.qr', timestamp: event.occurredAt, data: { eventId: event.id, sessionId, seq: event.seq, tenantId, payload: { qr: 'x' } } },
    });

    const before = await database.query(`SELECT count(*)::int AS n FROM webhook_deliveries`);
    await expect(append(sessionId, 'session.qr', true)).rejects.toThrow('the work failed');
    expect(await database.query(`SELECT count(*)::int AS n FROM webhook_deliveries`)).toEqual(before);
    // The rolled-back event's number went to the next one, which is delivered as usual.
    const next = await append(sessionId, 'message.received');
    expect(next.seq).toBe(event.seq + 1);
    expect((await deliveriesOf(next.id)).map((row) => row.subscription_id).sort()).toEqual([all, (await database.query(`SELECT id FROM webhook_subscriptions WHERE events = '{message.received,message.sent}'`))[0]!.id].sort());
  });

  it('never hands the same delivery to two concurrent claimers', async () => {
    await clearQueue();
    const sessionId = await createSession();
    await subscribe({ events: ['*'] });
    await subscribe({ events: ['*'] });
    await Promise.all(Array.from({ length: 100 }, () => append(sessionId, 'session.qr')));
    const claimers = [outboxOf('replica-a'), outboxOf('replica-b'), outboxOf('replica-c'), outboxOf('replica-d')];
    const seen: string[] = [];
    await Promise.all(
      claimers.map(async (claimer) => {
        for (;;) {
          const batch = await claimer.claim(7);
          if (batch.length === 0) return;
          seen.push(...batch.map((delivery) => delivery.id));
        }
      }),
    );
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
    const states = await database.query<{ status: string; n: number }>(`SELECT status, count(DISTINCT claimed_by)::int AS n FROM webhook_deliveries GROUP BY status`);
    expect(states).toEqual([{ status: 'delivering', n: 4 }]);
  });

  it('gives a lapsed claim to the next claimer, refuses the late outcome of the first, and takes released claims back at once', async () => {
    await clearQueue();
    const sessionId = await createSession();
    await subscribe({ events: ['*'] });
    const event = await append(sessionId, 'session.qr');
    const a = outboxOf('replica-a');
    const b = outboxOf('replica-b');
    const [first] = await a.claim(10);
    expect(first).toMatchObject({ attempts: 1, secrets: ['whsec_x'], payload: { data: { eventId: event.id } } });
    expect(await b.claim(10)).toEqual([]);

    await database.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second', claim_expires_at = now() - interval '1 second'`);
    const [again] = await b.claim(10);
    expect(again).toMatchObject({ id: first!.id, attempts: 2 });

    const outcome = (attempts: number): DeliveryOutcome => ({ id: first!.id, attempts, status: 'delivered', delayMs: 0, lastStatus: 200, lastError: null });
    expect(await a.record([outcome(1)])).toEqual(new Set());
    expect((await database.query(`SELECT status, claimed_by FROM webhook_deliveries`))[0]).toEqual({ status: 'delivering', claimed_by: 'replica-b' });

    await b.release([{ id: first!.id, attempts: 2 }]);
    const [back] = await a.claim(10);
    expect(back).toMatchObject({ id: first!.id, attempts: 2 });
    expect(await a.record([{ ...outcome(2), status: 'pending', delayMs: 60_000, lastStatus: 500, lastError: 'HTTP 500' }])).toEqual(new Set([first!.id]));
    expect(await b.claim(10)).toEqual([]);
    const [row] = await database.query(`SELECT status, attempts, last_status, last_error, next_attempt_at > now() + interval '50 seconds' AS later FROM webhook_deliveries`);
    expect(row).toEqual({ status: 'pending', attempts: 2, last_status: 500, last_error: 'HTTP 500', later: true });
  });

  it('stops enqueueing for a disabled subscription and disables what it still had waiting', async () => {
    await clearQueue();
    const sessionId = await createSession();
    const gone = await subscribe({ events: ['*'] });
    await append(sessionId, 'session.qr');
    await outbox.disableSubscriptions([gone], 'the endpoint answered 410 Gone');
    const after = await append(sessionId, 'session.qr');
    expect(await deliveriesOf(after.id)).toEqual([]);
    expect(await database.query(`SELECT status FROM webhook_deliveries`)).toEqual([{ status: 'disabled' }]);
    expect(await outbox.queueStats()).toEqual({ depth: 0, oldestDueSeconds: 0 });
  });

  it('deletes ended deliveries enqueued longer ago than the retention, never a pending one, one replica at a time', async () => {
    await clearQueue();
    const sessionId = await createSession();
    await subscribe({ events: ['*'] });
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await append(sessionId, 'session.qr'));
    const statuses = ['delivered', 'dead', 'disabled', 'pending', 'delivering', 'delivered'];
    for (const [i, event] of events.entries()) {
      // All but the last were enqueued 31 days ago.
      await database.query(`UPDATE webhook_deliveries SET status = $2, created_at = now() - $3 * interval '1 day' WHERE event_id = $1`, [event.id, statuses[i], i < 5 ? 31 : 1]);
    }
    const left = async () => (await database.query<{ status: string }>(`SELECT status FROM webhook_deliveries ORDER BY status`)).map((row) => row.status);

    // Another replica holds the turn: this one deletes nothing.
    expect(await whileRetentionTurnTaken(database.url, 'webhook_deliveries', () => outbox.prune(30, 100))).toBe(0);
    expect(await outbox.prune(30, 2)).toBe(2);
    expect(await outbox.prune(30, 2)).toBe(1);
    expect(await outbox.prune(30, 2)).toBe(0);
    expect(await left()).toEqual(['delivered', 'delivering', 'pending']);
    expect(await outbox.prune(0, 100)).toBe(1);
    expect(await left()).toEqual(['delivering', 'pending']);
  });
});
