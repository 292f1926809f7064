/**
 * Webhook delivery on a local cluster of 3 replicas (PostgreSQL + Redis, wa-sim; no nginx), in one run:
 *
 * 1. Throughput, in WEBHOOK_ROUNDS rounds (default 5), each the baseline then wafleet over fresh rows,
 *    reported as medians (small machines drift; rounds side by side keep the ratio honest), after
 *    WEBHOOK_WARMUP (default 5000) deliveries that warm the replicas up, as a long-running server is.
 *    WEBHOOK_DELIVERIES (default 20000) outbox rows of one subscription, written as the outbox writes them
 *    (one statement), are delivered by the three replicas' workers to a receiver in this process that
 *    answers 200 at once. Rate = rows / (last arrival − first arrival). The baseline, on the same
 *    PostgreSQL and receiver: bench/raw-claim.worker.js, three processes of the least code that does the
 *    job (claim a batch with `FOR UPDATE SKIP LOCKED`, POST each row signed as Standard Webhooks, mark the
 *    batch delivered), over a copy of the table with as many rows. Goal: wafleet ≥ 0.6 × raw and ≥ 2,000/s.
 *    CPU per delivery of the workers, the receiver and the whole machine (from /proc) says where the time went;
 *    other work on the machine (another bench, a test run) shows up in `machine` and skews the ratio.
 * 2. Latency. One paired session; wa-sim delivers LATENCY_EVENTS inbound messages (default 300) at
 *    LATENCY_RATE per second (default 50); each becomes a `message.received` event with its outbox row in
 *    one transaction. Latency = arrival at the receiver − the row's `created_at` (the database's clock,
 *    the transaction's start; the same machine's clock as the receiver's). p50/p99.
 *
 * Needs PostgreSQL and Redis (BENCH_DATABASE_URL names where the throwaway database is made).
 * Run: `npm run bench:webhooks`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { ClusterSessions } from '../tools/cluster/cluster-sessions';
import { LocalCluster } from '../tools/cluster/local-cluster';
import { waitFor } from './sessions.client';
import { envInt, log, machine, machineBusyCpu, median, minimalEnv, onCleanup, ownCpu, ratio, readCpu, round, runMain, sleep, spawnNode, summarize } from './support';

const DELIVERIES = envInt('WEBHOOK_DELIVERIES', 20_000, 100, 1_000_000);
const CONCURRENCY = envInt('WEBHOOK_BENCH_CONCURRENCY', 32, 1, 1000);
const ROUNDS = envInt('WEBHOOK_ROUNDS', 5, 1, 20);
const WARMUP = envInt('WEBHOOK_WARMUP', 5000, 0, 1_000_000);
const LATENCY_EVENTS = envInt('LATENCY_EVENTS', 300, 10, 100_000);
const LATENCY_RATE = envInt('LATENCY_RATE', 50, 1, 1000);
const REPLICAS = 3;
const RATIO_GOAL = 0.6;
const RATE_GOAL = 2000;
const SESSION = 'bench-webhooks';
const PHONE_PREFIX = '551197800';
const ACCOUNT_PHONE = `${PHONE_PREFIX}00`;
const SENDER = '5511966000002';
const RAW_ENTRY = join(__dirname, 'raw-claim.worker.js');
const RAW_TABLE = 'bench_raw_deliveries';

/** The receiver: answers 200 at once, and keeps each request's webhook-id, arrival time and event id. */
class Receiver {
  readonly arrivals: { id: string; at: number; eventId?: string }[] = [];
  private constructor(readonly url: string) {}

  static async start(): Promise<Receiver> {
    let receiver!: Receiver;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const at = Date.now();
        let eventId: string | undefined;
        try {
          eventId = (JSON.parse(Buffer.concat(chunks).toString()) as { data?: { eventId?: string } }).data?.eventId;
        } catch {
          eventId = undefined;
        }
        receiver.arrivals.push({ id: String(req.headers['webhook-id'] ?? ''), at, eventId });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    onCleanup(() => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))));
    receiver = new Receiver(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    return receiver;
  }

  /** Arrivals from index `from` on: their count, distinct ids, and the rate between the first and the last. */
  since(from: number): { count: number; distinct: number; perSecond: number; seconds: number } {
    const part = this.arrivals.slice(from);
    const seconds = part.length > 1 ? (part.at(-1)!.at - part[0]!.at) / 1000 : 0;
    return { count: part.length, distinct: new Set(part.map((a) => a.id)).size, perSecond: seconds > 0 ? round(part.length / seconds, 1) : 0, seconds: round(seconds) };
  }
}

/** A body shaped as a `message.received` delivery's, so both sides send as many bytes. */
const samplePayload = `jsonb_build_object('type', 'message.received', 'timestamp', now(), 'data', jsonb_build_object(
  'eventId', gen_random_uuid(), 'sessionId', gen_random_uuid(), 'tenantId', gen_random_uuid(), 'seq', g,
  'payload', jsonb_build_object('id', gen_random_uuid(), 'waId', '3EB0' || g, 'chat', '5511966000002@s.whatsapp.net', 'kind', 'text', 'text', 'webhook bench ' || g)))`;

type CpuParties = Record<string, () => number>;
type Rate = ReturnType<Receiver['since']>;

/**
 * CPU ms per delivery of each party over `work`, and of the whole machine (every process, from
 * /proc/stat: database backends that come and go included), with what the machine's cores could serve
 * at that cost.
 */
async function measured<T>(parties: CpuParties, count: () => number, work: () => Promise<T>): Promise<{ result: T; cpuMsPerDelivery: Record<string, number>; machineBoundPerSecond: number }> {
  const watch: CpuParties = { ...parties, receiver: ownCpu, machine: machineBusyCpu };
  const before = Object.fromEntries(Object.entries(watch).map(([name, read]) => [name, read()]));
  const result = await work();
  const n = Math.max(1, count());
  const cpuMsPerDelivery = Object.fromEntries(Object.entries(watch).map(([name, read]) => [name, round(((read() - before[name]!) * 1000) / n, 3)]));
  return { result, cpuMsPerDelivery, machineBoundPerSecond: round((cpus().length * 1000) / cpuMsPerDelivery.machine!, 1) };
}

async function main() {
  const started = Date.now();
  const receiver = await Receiver.start();
  log(`starting wa-sim and ${REPLICAS} replicas on PostgreSQL + Redis`);
  const cluster = await LocalCluster.start({
    replicas: REPLICAS,
    nginx: false,
    root: resolve(__dirname, '..', '..'),
    postgresAdminUrl: process.env.BENCH_DATABASE_URL || undefined,
    env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_CONCURRENCY: String(CONCURRENCY) },
  });
  onCleanup(() => cluster.stop());
  const fleet = await ClusterSessions.open(cluster, 'webhooks-bench');
  onCleanup(() => fleet.close());
  const replicas = Array.from({ length: REPLICAS }, (_, i) => cluster.replica(i));

  const created = await fleet.call('/webhooks', 'POST', { url: receiver.url, events: ['*'] });
  if (created.status !== 201) throw new Error(`POST /webhooks answered ${created.status}: ${JSON.stringify(created.body)}`);
  const subscriptionId = created.body.id as string;
  const secret = created.body.secret as string;
  const [{ tenant_id: tenantId }] = (await fleet.query(`SELECT tenant_id FROM webhook_subscriptions WHERE id = $1`, [subscriptionId])) as { tenant_id: string }[];

  // 1. Rounds of the raw claim loops then wafleet's workers, each over DELIVERIES fresh rows: machines
  // this small drift, so the figures are medians of rounds taken side by side.
  await fleet.query(`CREATE TABLE ${RAW_TABLE} (LIKE webhook_deliveries INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`);
  const fill = (table: string, rows = DELIVERIES) =>
    fleet.query(
      `INSERT INTO ${table} (id, subscription_id, tenant_id, event_id, event_type, seq, payload)
       SELECT gen_random_uuid(), $1, $2, gen_random_uuid(), 'message.received', g, ${samplePayload} FROM generate_series(1, $3) g`,
      [subscriptionId, tenantId, rows],
    );
  // The replicas are long-running servers: they are measured warm, after WEBHOOK_WARMUP deliveries.
  if (WARMUP > 0) {
    const warmFrom = receiver.arrivals.length;
    await fill('webhook_deliveries', WARMUP);
    await waitFor('the warm-up deliveries', async () => (receiver.since(warmFrom).distinct >= WARMUP ? true : undefined), 600_000, 20);
  }
  const rounds: { raw: Awaited<ReturnType<typeof measured<Rate>>>; wafleet: Awaited<ReturnType<typeof measured<Rate>>>; wafleetOverRaw: number | null }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await fill(RAW_TABLE);
    const rawFrom = receiver.arrivals.length;
    const workerCpu: number[] = [];
    const raw = await measured(
      { workers: () => workerCpu.reduce((sum, seconds) => sum + seconds, 0) },
      () => receiver.arrivals.length - rawFrom,
      async () => {
        const env = { ...minimalEnv(), DATABASE_URL: cluster.databaseUrl, TABLE: RAW_TABLE, TARGET_URL: receiver.url, CONCURRENCY: String(CONCURRENCY), SECRET: secret };
        const procs = replicas.map(() => spawnNode([RAW_ENTRY], env, (line) => line.startsWith('cpu ') && workerCpu.push(Number(line.slice(4)))));
        await waitFor('the raw loops delivered every row and exited', async () => (workerCpu.length === procs.length ? true : undefined), 600_000, 20);
        return receiver.since(rawFrom);
      },
    );

    const oursFrom = receiver.arrivals.length;
    const wafleet = await measured(
      { ...Object.fromEntries(replicas.map((replica) => [replica.instanceId, () => readCpu(replica.pid).totalSec])) },
      () => receiver.arrivals.length - oursFrom,
      async () => {
        await fill('webhook_deliveries');
        await waitFor('the replicas delivered every row', async () => (receiver.since(oursFrom).distinct >= DELIVERIES ? true : undefined), 600_000, 20);
        return receiver.since(oursFrom);
      },
    );
    const wafleetOverRaw = ratio(wafleet.result.perSecond, raw.result.perSecond);
    rounds.push({ raw, wafleet, wafleetOverRaw });
    log(`round ${round}: raw ${raw.result.perSecond}/s, wafleet ${wafleet.result.perSecond}/s (${wafleet.result.count - wafleet.result.distinct} repeats): ${wafleetOverRaw}`);
  }
  const [{ open }] = (await fleet.query(`SELECT count(*)::int AS open FROM webhook_deliveries WHERE status <> 'delivered'`)) as { open: number }[];

  // 2. Enqueue-to-delivery latency of real events.
  await fleet.createPaired([SESSION], PHONE_PREFIX, 60_000);
  const latencyFrom = receiver.arrivals.length;
  log(`latency: ${LATENCY_EVENTS} inbound messages at ${LATENCY_RATE}/s`);
  const pumpStarted = Date.now();
  const posts: Promise<unknown>[] = [];
  for (let n = 0; n < LATENCY_EVENTS; n++) {
    const wait = pumpStarted + (n * 1000) / LATENCY_RATE - Date.now();
    if (wait > 0) await sleep(wait);
    posts.push(
      fetch(`${cluster.simUrl}/accounts/${ACCOUNT_PHONE}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: SENDER, text: `latency ${n}` }) }).then(async (res) => {
        if (!res.ok) throw new Error(`wa-sim answered ${res.status}: ${await res.text()}`);
      }),
    );
  }
  await Promise.all(posts);
  const received = async () => (await fleet.query(`SELECT event_id, created_at FROM webhook_deliveries WHERE event_type = 'message.received' AND session_id IS NOT NULL`)) as { event_id: string; created_at: Date }[];
  await waitFor('the latency deliveries', async () => {
    const rows = await received();
    const arrived = new Set(receiver.arrivals.slice(latencyFrom).map((a) => a.eventId));
    return rows.length >= LATENCY_EVENTS && rows.every((row) => arrived.has(row.event_id)) ? true : undefined;
  }, 120_000);
  const createdAt = new Map((await received()).map((row) => [row.event_id, row.created_at.getTime()]));
  const firstArrival = new Map<string, number>();
  for (const arrival of receiver.arrivals.slice(latencyFrom)) if (arrival.eventId && !firstArrival.has(arrival.eventId)) firstArrival.set(arrival.eventId, arrival.at);
  const latencies = [...createdAt].filter(([eventId]) => firstArrival.has(eventId)).map(([eventId, at]) => firstArrival.get(eventId)! - at);
  const latency = summarize(latencies);
  log(`latency: p50 ${latency.p50} ms, p99 ${latency.p99} ms`);

  const medianOf = (pick: (r: (typeof rounds)[number]) => number) => round(median(rounds.map(pick)), 2);
  const ours = { perSecond: medianOf((r) => r.wafleet.result.perSecond), machineCpuMsPerDelivery: medianOf((r) => r.wafleet.cpuMsPerDelivery.machine!) };
  const raw = { perSecond: medianOf((r) => r.raw.result.perSecond), machineCpuMsPerDelivery: medianOf((r) => r.raw.cpuMsPerDelivery.machine!) };
  const oursOverRaw = medianOf((r) => r.wafleetOverRaw ?? 0);
  return {
    bench: 'webhooks',
    description:
      `${REPLICAS} replicas (PostgreSQL + Redis). Throughput, in ${ROUNDS} rounds side by side: ${DELIVERIES} outbox rows delivered by wafleet's workers vs by ${REPLICAS} raw FOR UPDATE SKIP LOCKED ` +
      'claim loops (claim a batch, POST each signed, mark the batch), same PostgreSQL, receiver and concurrency; medians of the rounds. Latency: a real event\'s outbox row created -> its arrival at the receiver.',
    machine: machine(),
    concurrencyPerReplica: CONCURRENCY,
    throughput: {
      wafleet: { ...ours, notMarkedDelivered: open },
      raw,
      wafleetOverRaw: oursOverRaw,
      goal: { overRaw: RATIO_GOAL, perSecond: RATE_GOAL },
      metGoal: oursOverRaw >= RATIO_GOAL && ours.perSecond >= RATE_GOAL,
      rounds: rounds.map((r) => ({
        wafleet: { ...r.wafleet.result, cpuMsPerDelivery: r.wafleet.cpuMsPerDelivery, machineBoundPerSecond: r.wafleet.machineBoundPerSecond },
        raw: { ...r.raw.result, cpuMsPerDelivery: r.raw.cpuMsPerDelivery, machineBoundPerSecond: r.raw.machineBoundPerSecond },
        wafleetOverRaw: r.wafleetOverRaw,
      })),
    },
    latency: { events: LATENCY_EVENTS, ratePerSecond: LATENCY_RATE, enqueueToDeliveryMs: latency, missing: LATENCY_EVENTS - latencies.length },
    wallMs: Date.now() - started,
  };
}

runMain(main);
