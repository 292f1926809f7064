import { ClusterSessions, type SessionRow } from '../../tools/cluster/cluster-sessions';
import { LocalCluster, type Replica } from '../../tools/cluster/local-cluster';
import { sleep } from '../../tools/cluster/process-group';
import { requirePostgres, TEST_DATABASE_URL } from '../support/postgres';
import { requireRedis, TEST_REDIS_URL } from '../support/redis';
import { signedBy, WebhookReceiver, type ReceivedHook } from '../support/webhook-receiver';

const LEASE_TTL_MS = 4_000;
const KEEPALIVE_MS = 500;
const SIM_IDLE_TIMEOUT_MS = 2_000;
/** Each replica delivers this many at once; a kill -9 can leave at most this many (and the outcomes it had not yet written) in flight. */
const CONCURRENCY = 16;
/**
 * Long enough that a live replica's attempt never times out on this 5 ms receiver, even on a loaded
 * 2-core machine (a timeout is a failed attempt, retried: a repeat that has nothing to do with the kill);
 * short enough that the killed replica's claims (lease: this + 15 s) come back within the test.
 */
const TIMEOUT_MS = 10_000;
const EVENTS = 5_000;
const SESSIONS = ['hook-0', 'hook-1', 'hook-2', 'hook-3', 'hook-4', 'hook-5'];
/** createPaired appends the session's two-digit index to the prefix. */
const PHONE_PREFIX = '55119600';
const SENDER_BASE = 5511944440000;
const PATH = '/hook';
/** How late this process may log an arrival it had already been sent. */
const ARRIVAL_SLACK_MS = 1_000;
/** How long the log must stand still before it is compared with what the receiver got. */
const SETTLE_MS = 2_000;
/**
 * How far the writers may run ahead of the deliveries received. Unbounded, a loaded machine let them
 * write three times EVENTS before EVENTS were logged, and the backlog wa-sim then handed over after the
 * pump stopped took longer than the settling wait.
 */
const MAX_BACKLOG = 1_000;

const eventIdOf = (hook: ReceivedHook) => (JSON.parse(hook.body) as { data: { eventId: string } }).data.eventId;
const webhookIdOf = (hook: ReceivedHook) => String(hook.headers['webhook-id']);

/**
 * Webhook delivery on three replicas behind nginx, as real processes on wa-sim: 5,000 inbound messages
 * are written to six sessions spread over the replicas while a local receiver answers every delivery, and
 * one replica is killed with SIGKILL halfway. Every event's delivery row is written with the event, every
 * delivery reaches the receiver at least once under a stable `webhook-id`, a repeat is only ever of a
 * delivery the killed replica had in flight, and no two attempts of one delivery overlap.
 */
describe('webhooks on three replicas through nginx', () => {
  let cluster: LocalCluster;
  let fleet: ClusterSessions;
  let receiver: WebhookReceiver;
  let sessions: SessionRow[];

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    receiver = await new WebhookReceiver().start();
    // A few milliseconds per answer keeps several attempts in flight on every replica.
    receiver.answer(PATH, { status: 200, delayMs: 5 });
    cluster = await LocalCluster.start({
      replicas: 3,
      postgresAdminUrl: TEST_DATABASE_URL,
      redisUrl: TEST_REDIS_URL,
      simIdleTimeoutMs: SIM_IDLE_TIMEOUT_MS,
      env: {
        LEASE_TTL_MS: String(LEASE_TTL_MS),
        REBALANCE_PER_MINUTE: '0',
        WA_KEEPALIVE_MS: String(KEEPALIVE_MS),
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_CONCURRENCY: String(CONCURRENCY),
        WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
        WEBHOOK_RETRY_SCHEDULE: '500ms,1s,2s,4s',
      },
    });
    fleet = await ClusterSessions.open(cluster, 'webhooks');
    await fleet.createPaired(SESSIONS, PHONE_PREFIX, 60_000);
    sessions = (await fleet.rows()).filter((row) => SESSIONS.includes(row.name));
  }, 120_000);

  afterAll(async () => {
    await fleet?.close();
    await cluster?.stop();
    await receiver?.stop();
  }, 30_000);

  /** message.received events in the tenant's sessions' logs, and how many of them have no delivery row of `subscriptionId`. */
  async function outboxCounts(subscriptionId: string): Promise<{ events: number; withoutDelivery: number; open: number; rows: number }> {
    const [row] = await fleet.query(
      `SELECT
         (SELECT count(*)::int FROM session_events e WHERE e.session_id = ANY($2::uuid[]) AND e.type = 'message.received') AS events,
         (SELECT count(*)::int FROM session_events e WHERE e.session_id = ANY($2::uuid[]) AND e.type = 'message.received'
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.subscription_id = $1)) AS "withoutDelivery",
         (SELECT count(*)::int FROM webhook_deliveries d WHERE d.subscription_id = $1 AND d.status <> 'delivered') AS open,
         (SELECT count(*)::int FROM webhook_deliveries d WHERE d.subscription_id = $1) AS rows`,
      [subscriptionId, sessions.map((session) => session.id)],
    );
    return row as { events: number; withoutDelivery: number; open: number; rows: number };
  }

  it('delivers every one of 5,000 events at least once across a kill -9, duplicates only of what was in flight, never two attempts at once', async () => {
    const created = await fleet.call('/webhooks', 'POST', { url: `${receiver.url}${PATH}`, events: ['message.received'] });
    expect(created.status).toBe(201);
    const subscriptionId = created.body.id as string;
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whsec_/);

    // One writer per session; each sends to its session's account from phones of its own.
    let written = 0;
    let pumping = true;
    const pump = Promise.all(
      sessions.map(async (session, index) => {
        const account = `${PHONE_PREFIX}${String(SESSIONS.indexOf(session.name)).padStart(2, '0')}`;
        for (let n = 0; pumping; n++) {
          while (pumping && written - receiver.received.length > MAX_BACKLOG) await sleep(50);
          if (!pumping) return;
          const from = String(SENDER_BASE + index * 10 + (n % 10));
          const res = await fetch(`${cluster.simUrl}/accounts/${account}/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ from, text: `event ${index}.${n}` }),
          });
          if (!res.ok) throw new Error(`wa-sim answered ${res.status}: ${await res.text()}`);
          written++;
        }
      }),
    );

    let victim: Replica | undefined;
    let killedAt = 0;
    try {
      await fleet.until(async () => new Set(receiver.received.map(webhookIdOf)).size >= EVENTS / 2, 120_000, `${EVENTS / 2} deliveries received`);
      // The replica that owns the most of these sessions, so the kill interrupts both events and deliveries.
      const counts = new Map<string, number>();
      for (const row of await fleet.rows()) if (SESSIONS.includes(row.name) && row.owner) counts.set(row.owner, (counts.get(row.owner) ?? 0) + 1);
      const busiest = [...counts.entries()].sort((x, y) => y[1] - x[1])[0]![0];
      victim = [0, 1, 2].map((index) => cluster.replica(index)).find((replica) => replica.instanceId === busiest)!;
      expect(await victim.kill()).toBe(137);
      killedAt = Date.now();
      await fleet.until(async () => (await outboxCounts(subscriptionId)).events >= EVENTS, 180_000, `${EVENTS} message.received events logged`);
    } finally {
      pumping = false;
      await pump;
    }

    // Every event logged has its delivery row (written in the event's transaction), and every row ends
    // delivered. wa-sim still hands over what it queued for the killed replica's sessions after the pump
    // stops, so the log is read once it has stood still with nothing left to deliver.
    let counts = await outboxCounts(subscriptionId);
    await fleet.until(
      async () => {
        const before = counts;
        await sleep(SETTLE_MS);
        counts = await outboxCounts(subscriptionId);
        return counts.open === 0 && counts.rows === before.rows;
      },
      // Generous: on a slow 2-core machine with the suite beside it, one CI run had not settled in 90 s.
      180_000,
      'every delivery delivered, and no new event for a while',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; outbox: ${JSON.stringify(counts)}`);
    });
    expect(counts.withoutDelivery).toBe(0);
    expect(counts.rows).toBe(counts.events);
    expect(counts.events).toBeGreaterThanOrEqual(EVENTS);
    expect(written).toBeGreaterThanOrEqual(counts.events);

    // Each row reached the receiver, under one webhook-id per event.
    const rows = (await fleet.query(`SELECT event_id FROM webhook_deliveries WHERE subscription_id = $1`, [subscriptionId])) as { event_id: string }[];
    const byEvent = new Map<string, ReceivedHook[]>();
    for (const hook of receiver.at(PATH)) byEvent.set(eventIdOf(hook), [...(byEvent.get(eventIdOf(hook)) ?? []), hook]);
    const missing = rows.filter((row) => !byEvent.has(row.event_id));
    expect(missing).toEqual([]);
    for (const [eventId, attempts] of byEvent) {
      expect({ eventId, ids: new Set(attempts.map(webhookIdOf)).size }).toEqual({ eventId, ids: 1 });
    }

    // A repeat is of a delivery already in flight when the replica died: its first attempt came before the
    // process was gone (give or take this process's own event loop, which logs the arrivals).
    const repeated = [...byEvent.values()].filter((attempts) => attempts.length > 1);
    const lateRepeats = repeated.filter((attempts) => attempts[0]!.at > killedAt + ARRIVAL_SLACK_MS);
    if (lateRepeats.length) {
      // Say why: the rows' own record of their attempts, when each arrived (a gap of one claim lease, about
      // TIMEOUT_MS + 15 s, is a claim that lapsed), and what the live replicas said of their webhook work.
      const late = lateRepeats.map((attempts) => webhookIdOf(attempts[0]!));
      const rows = await fleet.query(`SELECT id, attempts, last_status, last_error FROM webhook_deliveries WHERE 'msg_' || replace(id::text, '-', '') = ANY($1::text[])`, [late]);
      const arrivals = lateRepeats.map((attempts) => `${webhookIdOf(attempts[0]!)}: ${attempts.map((hook) => `kill+${hook.at - killedAt} ms`).join(', ')}`);
      const said = [0, 1, 2]
        .map((index) => cluster.replica(index))
        .filter((replica) => replica.index !== victim?.index)
        .flatMap((replica) => replica.output().split('\n').filter((line) => /Webhook/.test(line)).slice(-20).map((line) => `replica ${replica.index}: ${line}`));
      throw new Error(`repeats whose first attempt came after the kill (${killedAt}): ${JSON.stringify(rows)}\n${arrivals.join('\n')}\n${said.join('\n')}`);
    }
    expect(repeated.length).toBeLessThanOrEqual(2 * CONCURRENCY);
    expect(receiver.overlaps).toBe(0);

    // Every request carried a valid Standard Webhooks signature.
    const unsigned = receiver.at(PATH).filter((hook) => !signedBy(secret, hook));
    expect(unsigned.map(webhookIdOf)).toEqual([]);
    expect(victim).toBeDefined();
  }, 480_000);
});
