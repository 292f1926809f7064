/**
 * Realtime and send costs on a local cluster of 2 replicas (wa-sim, PostgreSQL, Redis; no nginx: each
 * client talks to the replica it means to), one paired session, in one run:
 *
 * 1. Event latency. Two Socket.IO clients on `/events` subscribe to the session: one connected to the
 *    replica that owns it (local), one to the other replica (cross: the event rides the Redis adapter).
 *    wa-sim delivers REALTIME_EVENTS inbound texts (default 300) at REALTIME_RATE per second (default
 *    20, paced so the figure is latency, not queueing), each text stamped with performance.now() when
 *    the bench asked wa-sim to deliver it. Latency = arrival of its `message.received` at a client − that
 *    stamp; both clients live in this process, so there is one clock. It spans wa-sim → Baileys →
 *    the event stored → Socket.IO; the cross/local ratio is what the second replica adds. `sinceStored`
 *    is arrival − the event's `occurredAt` (the database's clock, ms precision, the transaction's start).
 *    Goal: cross p99 ≤ 1.5 × local p99.
 * 2. Send throughput. The route answers 202 once a send is stored; the owner sends from its queue.
 *    SEND_REQUESTS (default 2000) `POST /sessions/:s/messages` kind text with the tenant's X-API-Key
 *    on SEND_TARGET (default `other`, the replica that does not own the session, as behind a balancer;
 *    `owner` for the owner), SEND_CONCURRENCY in flight (default 20), round robin over SEND_RECIPIENTS
 *    numbers (default 10), after a warm-up in rounds of 1000 requests: at least SEND_WARMUP of them
 *    (default 6000), then more until the server's CPU per request in each of the last two rounds is
 *    within 10% of the round before (the JIT has settled: measured here, the send route got cheaper
 *    for its first 5000 requests, 1.14 → 0.26 ms, and the bare route, after two rounds of 0.23 and
 *    0.21 ms, fell to 0.03 ms by 6000), at most SEND_WARMUP_MAX (default 16000); `warmup` in the
 *    JSON says how many each server took and what its rounds cost. Every send reaches wa-sim, which answers with receipts,
 *    so the owner sends the queue while the route takes more. The baseline is bench/bare-nest.worker.js (Nest + Fastify, one POST route, no
 *    validation, 201 JSON) driven by the same client (node:http keep-alive agent, one socket per request
 *    in flight), the same body and concurrency. Goal: send ≥ 0.6 × bare requests/s.
 *    Layout (SEND_LAYOUT, default `pinned` on 2 or more CPUs): the server under test (the accepting
 *    replica, or the bare server) and this client share CPU 0, and the owner, wa-sim, PostgreSQL and
 *    Redis run on the other CPUs, as the database and the session's owner would on machines of their
 *    own. Otherwise the owner's sending (Signal encryption, receipts, their transactions) takes the
 *    cores the route is measured on, and the ratio says more about this machine's size than about the
 *    route. `shared` leaves every process on every CPU. PostgreSQL and Redis get all CPUs back at the end.
 *    `cpuMsPerRequest` says where the time went: CPU ms per request (from /proc) of the accepting
 *    replica, the owner, wa-sim, every PostgreSQL and Redis process, and this client, with their total;
 *    `machineBoundRequestsPerSecond` is what the machine's cores could serve at that total.
 *
 * Needs PostgreSQL and Redis (BENCH_DATABASE_URL names where the throwaway database is made).
 * Run: `npm run bench:realtime`.
 */
import { Agent } from 'node:http';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { io, type Socket } from 'socket.io-client';
import { ClusterSessions } from '../tools/cluster/cluster-sessions';
import { LocalCluster, type Replica } from '../tools/cluster/local-cluster';
import { pool, waitFor } from './sessions.client';
import {
  envInt,
  freePort,
  httpRequest,
  log,
  machine,
  minimalEnv,
  onCleanup,
  ownCpu,
  pidsOf,
  pinToCpus,
  ratio,
  readCpu,
  readCpuOfAll,
  round,
  runMain,
  sleep,
  spawnNode,
  summarize,
  waitForOk,
} from './support';

const EVENTS = envInt('REALTIME_EVENTS', 300, 10, 100_000);
const RATE = envInt('REALTIME_RATE', 20, 1, 1000);
const SEND_REQUESTS = envInt('SEND_REQUESTS', 2000, 10, 1_000_000);
const SEND_CONCURRENCY = envInt('SEND_CONCURRENCY', 20, 1, 500);
const SEND_RECIPIENTS = envInt('SEND_RECIPIENTS', 10, 1, 100);
const SEND_WARMUP = envInt('SEND_WARMUP', 6000, 0, 100_000);
const SEND_WARMUP_MAX = envInt('SEND_WARMUP_MAX', 16_000, 0, 1_000_000);
/** Requests in one warm-up round, and how close (relative) two rounds' CPU per request must be to call the JIT settled. */
const WARMUP_ROUND = 1000;
const WARMUP_SETTLED = 0.1;
/** How long the owner's sending is timed after the route stopped taking sends. */
const OWNER_RATE_MS = 10_000;
/** Which replica takes the sends: `other` (a replica that does not own the session, as behind a balancer two times in three) or `owner`. */
const SEND_TARGET = process.env.SEND_TARGET === 'owner' ? 'owner' : 'other';
const PINNED = process.env.SEND_LAYOUT !== 'shared' && cpus().length >= 2;
const LATENCY_GOAL = 1.5;
const THROUGHPUT_GOAL = 0.6;
const SESSION = 'bench-realtime';
/** The account the session pairs as: ClusterSessions appends a two-digit index to this prefix. */
const PHONE_PREFIX = '551197700';
const ACCOUNT_PHONE = `${PHONE_PREFIX}00`;
/** The phone that writes to the account. */
const SENDER = '5511966000001';
const RECIPIENT_BASE = 5511955000000;
/** Inbound texts sent before the timed ones: the sender's first message sets up its Signal session. */
const LATENCY_WARMUP = 10;
const PROBE = /^latency probe (\d+) at ([\d.]+)$/;
const BARE_ENTRY = join(__dirname, 'bare-nest.worker.js');
const REQUEST_TIMEOUT_MS = 60_000;

interface Arrival {
  index: number;
  ms: number;
  sinceStoredMs: number;
}

/** A Socket.IO client on `/events` that times each latency probe's `message.received` on arrival. */
class ProbeListener {
  readonly arrivals = new Map<number, Arrival>();
  private constructor(readonly socket: Socket) {}

  static async connect(baseUrl: string, apiKey: string): Promise<ProbeListener> {
    const socket = io(`${baseUrl}/events`, { transports: ['websocket'], reconnection: false, auth: { apiKey } });
    const listener = new ProbeListener(socket);
    socket.on('event', (event: { type: string; occurredAt: string; data: { text?: string | null } }) => {
      const now = performance.now();
      const wallNow = Date.now();
      if (event.type !== 'message.received') return;
      const probe = PROBE.exec(event.data.text ?? '');
      if (!probe) return;
      const index = Number(probe[1]);
      listener.arrivals.set(index, { index, ms: now - Number(probe[2]), sinceStoredMs: wallNow - Date.parse(event.occurredAt) });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => reject(new Error(`connecting to ${baseUrl}/events: ${error.message}`)));
    });
    onCleanup(() => socket.close());
    return listener;
  }

  async subscribe(session: string): Promise<void> {
    const ack = (await this.socket.timeout(10_000).emitWithAck('subscribe', { sessions: [session] })) as { error?: unknown };
    if (ack.error) throw new Error(`subscribe refused: ${JSON.stringify(ack.error)}`);
  }

  /** Latencies of the timed probes (index ≥ LATENCY_WARMUP). */
  timed(): Arrival[] {
    return [...this.arrivals.values()].filter((arrival) => arrival.index >= LATENCY_WARMUP);
  }
}

async function deliverInbound(simUrl: string, index: number): Promise<void> {
  const text = `latency probe ${index} at ${performance.now().toFixed(3)}`;
  const res = await httpRequest(`${simUrl}/accounts/${ACCOUNT_PHONE}/messages`, { method: 'POST', body: { from: SENDER, text }, timeoutMs: REQUEST_TIMEOUT_MS });
  if (res.status !== 200) throw new Error(`wa-sim POST /accounts/${ACCOUNT_PHONE}/messages answered ${res.status}: ${res.body}`);
}

async function benchLatency(simUrl: string, apiKey: string, owner: Replica, other: Replica) {
  const local = await ProbeListener.connect(owner.url, apiKey);
  const cross = await ProbeListener.connect(other.url, apiKey);
  await Promise.all([local.subscribe(SESSION), cross.subscribe(SESSION)]);
  const both = (count: number) => async () => (local.arrivals.size >= count && cross.arrivals.size >= count ? true : undefined);

  for (let i = 0; i < LATENCY_WARMUP; i++) await deliverInbound(simUrl, i);
  await waitFor('the warm-up probes at both clients', both(LATENCY_WARMUP), 30_000, 20);
  log(`latency: ${EVENTS} inbound messages at ${RATE}/s, clients on ${owner.instanceId} (owner) and ${other.instanceId}`);

  const started = performance.now();
  const posts: Promise<void>[] = [];
  for (let n = 0; n < EVENTS; n++) {
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    posts.push(deliverInbound(simUrl, LATENCY_WARMUP + n));
  }
  await Promise.all(posts);
  await waitFor(`all ${EVENTS} probes at both clients`, both(LATENCY_WARMUP + EVENTS), 30_000, 20).catch((error: Error) => log(error.message));
  local.socket.close();
  cross.socket.close();

  const figures = (listener: ProbeListener) => {
    const timed = listener.timed();
    return { ms: summarize(timed.map((a) => a.ms)), sinceStoredMs: summarize(timed.map((a) => a.sinceStoredMs)), missing: EVENTS - timed.length };
  };
  const l = figures(local);
  const c = figures(cross);
  log(`latency: local p50 ${l.ms.p50} p99 ${l.ms.p99} ms; cross p50 ${c.ms.p50} p99 ${c.ms.p99} ms; missing ${l.missing}/${c.missing}`);
  return {
    events: EVENTS,
    ratePerSecond: RATE,
    local: l,
    cross: c,
    crossOverLocalP50: ratio(c.ms.p50, l.ms.p50),
    crossOverLocalP99: ratio(c.ms.p99, l.ms.p99),
    goalCrossOverLocalP99: LATENCY_GOAL,
    metGoal: l.missing === 0 && c.missing === 0 && c.ms.p99 <= LATENCY_GOAL * l.ms.p99,
  };
}

interface Load {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: ReturnType<typeof summarize>;
  /** CPU ms per request of each watched process (and of this client) over the timed part, and their sum. */
  cpuMsPerRequest: Record<string, number>;
  /** What the machine's cores could serve at that CPU cost per request, were nothing else to run. */
  machineBoundRequestsPerSecond: number;
}

/** Reads a watched party's CPU seconds so far. */
type CpuReader = () => number;
const cpuOf = (pid: number): CpuReader => () => readCpu(pid).totalSec;

/**
 * `count` POSTs of the send body to `url`, `SEND_CONCURRENCY` at a time over one keep-alive agent; any
 * answer but `expected` fails the bench (it would measure errors). `watch` names processes whose CPU is read.
 */
async function drive(url: string, headers: Record<string, string>, count: number, firstIndex: number, watched: Record<string, CpuReader>, expected: number): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: SEND_CONCURRENCY });
  const removeCleanup = onCleanup(() => agent.destroy());
  const watch: Record<string, CpuReader> = { ...watched, client: ownCpu };
  const cpuBefore = Object.fromEntries(Object.entries(watch).map(([name, read]) => [name, read()]));
  const latencies: number[] = [];
  const started = performance.now();
  await pool(count, SEND_CONCURRENCY, async (i) => {
    const n = firstIndex + i;
    const body = { to: String(RECIPIENT_BASE + (n % SEND_RECIPIENTS)), kind: 'text', text: `throughput ${n}` };
    const at = performance.now();
    const res = await httpRequest(url, { method: 'POST', headers, body, agent, timeoutMs: REQUEST_TIMEOUT_MS });
    latencies.push(performance.now() - at);
    if (res.status !== expected) throw new Error(`POST ${url} answered ${res.status}, not ${expected}: ${res.body.slice(0, 500)}`);
  });
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerRequest = Object.fromEntries(Object.entries(watch).map(([name, read]) => [name, round(((read() - cpuBefore[name]!) * 1000) / count, 3)]));
  const total = Object.values(cpuMsPerRequest).reduce((sum, ms) => sum + ms, 0);
  cpuMsPerRequest.total = round(total, 3);
  removeCleanup();
  agent.destroy();
  return {
    requests: count,
    seconds: round(seconds),
    requestsPerSecond: round(count / seconds, 1),
    latencyMs: summarize(latencies),
    cpuMsPerRequest,
    machineBoundRequestsPerSecond: round((cpus().length * 1000) / total, 1),
  };
}

interface WarmUp {
  requests: number;
  /** The server's CPU ms per request in each round. */
  roundCpuMsPerRequest: number[];
  settled: boolean;
}

/**
 * Rounds of WARMUP_ROUND requests until at least SEND_WARMUP were made and the server's CPU per request
 * in each of the last two rounds is within WARMUP_SETTLED of the round before, or SEND_WARMUP_MAX were made.
 */
async function warmUp(url: string, headers: Record<string, string>, server: CpuReader, expected: number): Promise<WarmUp> {
  const rounds: number[] = [];
  let requests = 0;
  const close = (back: number) => Math.abs(rounds.at(-back)! - rounds.at(-back - 1)!) <= WARMUP_SETTLED * rounds.at(-back - 1)!;
  const settled = () => rounds.length >= 3 && close(1) && close(2);
  while (requests < SEND_WARMUP_MAX && (requests < SEND_WARMUP || !settled())) {
    const load = await drive(url, headers, WARMUP_ROUND, requests, { server }, expected);
    rounds.push(load.cpuMsPerRequest.server!);
    requests += WARMUP_ROUND;
  }
  return { requests, roundCpuMsPerRequest: rounds, settled: settled() };
}

/** Messages of the session not sent yet, read from the database. */
async function pendingCount(fleet: ClusterSessions): Promise<number> {
  const [row] = (await fleet.query(`SELECT count(*)::int AS n FROM messages WHERE status = 'pending'`)) as { n: number }[];
  return row?.n ?? 0;
}

/**
 * The route accepts a send once it is stored (202) and the session's owner sends it from its queue:
 * `send` is the accepting route, `ownerSending` the rate at which the owner then sends its queue.
 */
async function benchThroughput(apiKey: string, owner: Replica, other: Replica, simPid: number, fleet: ClusterSessions) {
  const target = SEND_TARGET === 'owner' ? owner : other;
  const headers = { 'x-api-key': apiKey };
  if (PINNED) {
    // The route's server and the client on CPU 0; the owner, wa-sim, PostgreSQL and Redis on the rest.
    onCleanup(pinToCpus([process.pid], '0'));
    const rest = `1-${cpus().length - 1}`;
    onCleanup(pinToCpus([owner.pid, simPid].filter((pid) => pid !== target.pid), rest));
    // PostgreSQL's backends forked meanwhile are pinned too: the undo asks for them again.
    onCleanup(pinToCpus(() => [...pidsOf('postgres'), ...pidsOf('redis-server')], rest));
  }

  const port = await freePort();
  const bare = spawnNode([BARE_ENTRY], { ...minimalEnv(), PORT: String(port) });
  if (PINNED) pinToCpus([bare.pid], '0');
  const bareUrl = `http://127.0.0.1:${port}`;
  await waitForOk(bare, `${bareUrl}/health`);
  const bareRoute = `${bareUrl}/sessions/${SESSION}/messages`;
  const bareWarmUp = await warmUp(bareRoute, headers, cpuOf(bare.pid), 201);
  log(`bare nest: warmed up with ${bareWarmUp.requests} requests; ${SEND_REQUESTS} requests, ${SEND_CONCURRENCY} in flight`);
  const bareLoad = await drive(bareRoute, headers, SEND_REQUESTS, bareWarmUp.requests, { server: cpuOf(bare.pid) }, 201);
  await bare.stop();
  log(`bare nest: ${bareLoad.requestsPerSecond} req/s, p50 ${bareLoad.latencyMs.p50} ms`);

  if (PINNED) onCleanup(pinToCpus([target.pid], '0'));
  const sendRoute = `${target.url}/sessions/${SESSION}/messages`;
  const sendWarmUp = await warmUp(sendRoute, headers, cpuOf(target.pid), 202);
  // Measured straight after the warm-up, as the bare route is: waiting for the owner to send the warm-up's
  // backlog first leaves the replica idle for a minute or more, after which its first requests cost two
  // to three times what they did (measured: 0.63 against 0.20 ms), so the figure would be of that, not of the route.
  log(`send: warmed up with ${sendWarmUp.requests} requests; ${SEND_REQUESTS} requests on ${target.instanceId} (${SEND_TARGET === 'owner' ? 'the owner' : 'not the owner'}), ${SEND_CONCURRENCY} in flight, ${SEND_RECIPIENTS} recipients`);
  const parties = { replica: cpuOf(target.pid), ...(target === owner ? {} : { owner: cpuOf(owner.pid) }), waSim: cpuOf(simPid), postgres: () => readCpuOfAll('postgres'), redis: () => readCpuOfAll('redis-server') };
  const sendLoad = await drive(sendRoute, headers, SEND_REQUESTS, sendWarmUp.requests, parties, 202);
  log(`send: ${sendLoad.requestsPerSecond} req/s accepted, p50 ${sendLoad.latencyMs.p50} ms; timing the owner's sending for ${OWNER_RATE_MS / 1000} s`);
  // The owner sends its queue one message after another; with no new sends, the queue shrinks at its rate.
  const queuedBefore = await pendingCount(fleet);
  await sleep(OWNER_RATE_MS);
  const queuedAfter = await pendingCount(fleet);
  const ownerSending = { sentPerSecond: round(((queuedBefore - queuedAfter) * 1000) / OWNER_RATE_MS, 1), queuedAtEnd: queuedBefore };
  log(`send: the owner sent ${ownerSending.sentPerSecond} messages/s`);

  const sendOverBare = ratio(sendLoad.requestsPerSecond, bareLoad.requestsPerSecond);
  return {
    target: SEND_TARGET,
    layout: PINNED ? 'pinned: the server under test and the client on CPU 0; owner, wa-sim, PostgreSQL, Redis on the others' : 'shared: every process on every CPU',
    concurrency: SEND_CONCURRENCY,
    recipients: SEND_RECIPIENTS,
    warmup: { send: sendWarmUp, bare: bareWarmUp },
    send: sendLoad,
    ownerSending,
    bare: bareLoad,
    sendOverBare,
    goalSendOverBare: THROUGHPUT_GOAL,
    metGoal: sendOverBare !== null && sendOverBare >= THROUGHPUT_GOAL,
  };
}

async function main() {
  const started = performance.now();
  log('starting wa-sim and 2 replicas on PostgreSQL + Redis');
  const cluster = await LocalCluster.start({
    replicas: 2,
    nginx: false,
    root: resolve(__dirname, '..', '..'),
    postgresAdminUrl: process.env.BENCH_DATABASE_URL || undefined,
  });
  onCleanup(() => cluster.stop());
  const fleet = await ClusterSessions.open(cluster, 'realtime-bench');
  onCleanup(() => fleet.close());
  await fleet.createPaired([SESSION], PHONE_PREFIX, 60_000);
  const row = (await fleet.rows()).find((r) => r.name === SESSION);
  const ownerIndex = [0, 1].find((i) => cluster.replica(i).instanceId === row?.owner);
  if (ownerIndex === undefined) throw new Error(`no replica owns ${SESSION}: ${JSON.stringify(row)}`);
  const owner = cluster.replica(ownerIndex);
  const other = cluster.replica(1 - ownerIndex);
  log(`${SESSION} paired as ${ACCOUNT_PHONE}, owned by ${owner.instanceId}`);

  const latency = await benchLatency(cluster.simUrl, fleet.key, owner, other);
  const throughput = await benchThroughput(fleet.key, owner, other, cluster.pids[0]!, fleet);

  return {
    bench: 'realtime',
    description:
      'One paired session on a 2-replica cluster (PostgreSQL + Redis, wa-sim). Latency: wa-sim delivery request -> message.received at a Socket.IO ' +
      'client on the owner replica (local) vs on the other replica (cross, via the Redis adapter). Throughput: the authenticated send route on the replica ' +
      'that does not own the session (202 once stored) vs a bare Nest + Fastify POST route, same client, concurrency and CPUs (throughput.layout); ' +
      'ownerSending: the rate at which the owner sends its queue one message after another, timed once the route stopped taking sends. Ratios are cross / local and send / bare.',
    machine: machine(),
    latency,
    throughput,
    wallMs: round(performance.now() - started),
  };
}

runMain(main);
