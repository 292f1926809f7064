import { randomUUID } from 'node:crypto';
import type { Engine } from '@wafleet/engines';
import { EventLog, SessionEvents, type RunningEngine } from '@wafleet/sessions';
import { DataSource } from 'typeorm';
import { CampaignLog } from '../../libs/campaigns/src/campaign-log';
import { CampaignSends } from '../../libs/campaigns/src/campaign-sends';
import { CampaignStore } from '../../libs/campaigns/src/campaign-store';
import { migratedDatabase, type TestDatabase } from '../support/postgres';
import { testLeases } from '../support/leases';

/**
 * The campaign runner's writes on PostgreSQL: queueing a message is fenced on the session's lease epoch
 * and on the campaign's status, at most one campaign message is pending at a time even when two callers
 * race, progress is one aggregate over recipients and their messages, and the status changes any
 * replica makes land with their event in the session's log.
 */
describe('campaign sends on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let store: CampaignStore;
  let sends: CampaignSends;
  let campaignLog: CampaignLog;
  const leases = testLeases(() => database.url, () => dataSource);

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    await dataSource.destroy();
    dataSource = await new DataSource({ type: 'postgres', url: database.url, poolSize: 8 }).initialize();
    store = new CampaignStore(dataSource);
    sends = new CampaignSends(dataSource);
    campaignLog = new CampaignLog(new EventLog(dataSource, new SessionEvents()), dataSource);
  });

  afterAll(async () => {
    leases.stop();
    await dataSource?.destroy();
    await database?.drop();
  });

  async function ownedSession(): Promise<RunningEngine> {
    const sessionId = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name) VALUES ($1, $2, $3)`, [sessionId, tenantId, `s-${sessionId}`]);
    const epoch = (await leases.of('replica-a').claim(sessionId))!;
    return { sessionId, tenantId, name: 's', epoch, engine: {} as Engine };
  }

  async function runningCampaign(sessionId: string, n: number): Promise<string> {
    const id = randomUUID();
    const recipients = Array.from({ length: n }, (_, i) => ({ jid: `55119000000${String(i).padStart(2, '0')}@s.whatsapp.net`, variables: { name: `R${i}` } }));
    await store.insert(
      { id, tenantId, sessionId, name: 'c', status: 'draft', template: { kind: 'text', text: 'Hi {{name}}', media: null }, mediaData: null, perMinute: 60, jitterPercent: 0, startAt: null },
      recipients,
    );
    expect(await campaignLog.change(tenantId, id, ['draft'], { status: 'running', started: true })).toBeDefined();
    return id;
  }

  const messagesOf = (sessionId: string) => database.query<{ id: string; chat: string; body: string; status: string }>(`SELECT id, chat, body, status FROM messages WHERE session_id = $1 ORDER BY created_at`, [sessionId]);
  const setStatus = (id: string, status: string) => database.query(`UPDATE messages SET status = $2 WHERE id = $1`, [id, status]);

  it('queues one rendered message per call, none while the previous is pending, and says done at the end', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 2);
    const first = await sends.enqueueNext(running, id);
    expect(first.outcome).toBe('queued');
    expect(await sends.enqueueNext(running, id)).toEqual({ outcome: 'busy' });
    await setStatus((first as { messageId: string }).messageId, 'sent');
    expect((await sends.enqueueNext(running, id)).outcome).toBe('queued');
    await database.query(`UPDATE messages SET status = 'delivered' WHERE session_id = $1`, [running.sessionId]);
    expect(await sends.enqueueNext(running, id)).toEqual({ outcome: 'done' });
    expect((await messagesOf(running.sessionId)).map((m) => m.body)).toEqual(['Hi R0', 'Hi R1']);
    expect(await campaignLog.complete(running, id)).toBe(true);
    expect((await store.find(tenantId, id))!.status).toBe('completed');
  });

  it('queues nothing under an epoch that moved on: another replica took the session', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 3);
    // replica-a's lease runs out (it was killed) and replica-b claims the session under a new epoch.
    await database.query(`UPDATE sessions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [running.sessionId]);
    expect(await leases.of('replica-b').claim(running.sessionId)).not.toBe(running.epoch);
    expect(await sends.enqueueNext(running, id)).toEqual({ outcome: 'stale' });
    expect(await messagesOf(running.sessionId)).toEqual([]);
    expect(await database.query(`SELECT count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 AND message_id IS NOT NULL`, [id])).toEqual([{ n: 0 }]);
    expect(await campaignLog.progress(running, id)).toBe(false);
  });

  it('lets only one of many racing callers queue a message', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 5);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => sends.enqueueNext(running, id)));
    expect(outcomes.filter((o) => o.outcome === 'queued')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'busy')).toHaveLength(5);
    expect(await messagesOf(running.sessionId)).toHaveLength(1);
  });

  it('does not deadlock with a status change made on another replica while it queues: both take the campaign row before the session row', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 3);
    // A pause as CampaignLog.change makes it: the campaign row first, the session row (for its event) after.
    const pause = dataSource.createQueryRunner();
    await pause.connect();
    try {
      await pause.startTransaction();
      await pause.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [id]);
      const queued = sends.enqueueNext(running, id);
      // The runner's transaction now waits for the campaign row; whatever it holds meanwhile, the pause must get the session row.
      for (let tries = 0; ; tries++) {
        const waiting = await database.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM campaigns%FOR UPDATE%'`);
        if (waiting.length > 0) break;
        if (tries > 200) throw new Error('enqueueNext never waited for the campaign row');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await pause.query(`SET LOCAL lock_timeout = '3s'`);
      await pause.query(`SELECT lease_epoch FROM sessions WHERE id = $1 FOR UPDATE`, [running.sessionId]);
      await pause.commitTransaction();
      expect(await queued).toEqual({ outcome: 'not_running' });
    } finally {
      if (pause.isTransactionActive) await pause.rollbackTransaction();
      await pause.release();
    }
    expect(await messagesOf(running.sessionId)).toEqual([]);
  });

  it('counts progress from the messages, and a cancel fails the pending message and queues nothing more', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 6);
    for (const status of ['read', 'delivered', 'sent', 'failed']) {
      const queued = await sends.enqueueNext(running, id);
      await setStatus((queued as { messageId: string }).messageId, status);
    }
    await sends.enqueueNext(running, id);
    const row = (await store.find(tenantId, id))!;
    expect((await store.view(row)).progress).toEqual({ total: 6, sent: 3, delivered: 2, read: 1, failed: 1, pending: 2 });
    expect((await campaignLog.change(tenantId, id, ['running', 'paused'], { status: 'cancelled', finished: true }))!.status).toBe('cancelled');
    expect(await sends.enqueueNext(running, id)).toEqual({ outcome: 'not_running' });
    expect((await store.view((await store.find(tenantId, id))!)).progress).toEqual({ total: 6, sent: 3, delivered: 2, read: 1, failed: 2, pending: 1 });
    const states = (await store.recipients(id, undefined, 10)).data.map((r) => r.state);
    expect(states).toEqual(['read', 'delivered', 'sent', 'failed', 'failed', 'pending']);
  });

  it('stops campaigns of a logged-out session with reason session_logged_out and a campaign.failed event', async () => {
    const running = await ownedSession();
    const id = await runningCampaign(running.sessionId, 2);
    await database.query(`UPDATE sessions SET status = 'logged_out', desired_state = 'stopped' WHERE id = $1`, [running.sessionId]);
    expect(await campaignLog.stopOrphaned()).toContainEqual({ id, session_id: running.sessionId });
    expect(await store.find(tenantId, id)).toMatchObject({ status: 'stopped', reason: 'session_logged_out' });
    const [event] = await database.query<{ type: string; data: { reason: string } }>(`SELECT type, data FROM session_events WHERE session_id = $1 ORDER BY seq DESC LIMIT 1`, [running.sessionId]);
    expect(event).toMatchObject({ type: 'campaign.failed', data: { campaignId: id, status: 'stopped', reason: 'session_logged_out' } });
  });
});
