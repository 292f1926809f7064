/**
 * What a WhatsApp session costs in wafleet beside a bare Baileys socket, measured in one run against one
 * wa-sim (its own process, so its CPU and memory are in neither figure):
 *   wafleet - one replica pairs BENCH_SESSIONS sessions over its API (QR -> sim POST /scan -> working);
 *             RSS (/proc) and heap used (/metrics) after a boot with no session (on the reopened database:
 *             a fresh one inflates RSS) and after all are working, per session; then SIGTERM and a new
 *             process on the same database: spawn -> ready and spawn -> all working. wa-sim must count
 *             exactly N new logins, no registration, no conflict.
 *   bare    - bench/bare-baileys.worker.js, its own process: N sockets with in-memory auth, paired the
 *             same way; RSS and heap used per socket; then all ended and logged in again with saved creds.
 * Memory is read over BENCH_SETTLE_MS (default 3000) after each phase without a forced GC on either side
 * (there is no way to force one in the server): RSS at the end, heap used as the lowest of samples every
 * 250 ms; the heap figures come from process.memoryUsage() on both sides (prom-client's
 * nodejs_heap_size_used_bytes is that value). Ratios are wafleet / bare; bringBack sets
 * wafleet's spawn -> all working against the bare re-login (which has no process to start), and
 * bringBackAfterReady leaves wafleet's boot out.
 * Pairing runs BENCH_PAIR_CONCURRENCY (default 20) at a time on both sides; the bare re-login runs
 * BENCH_RELOGIN_CONCURRENCY (default 16, the resume concurrency of libs/sessions/src/session-runtime.ts).
 * Database: embedded in a temporary DATA_DIR, or BENCH_DATABASE=postgres for a throwaway PostgreSQL database.
 * Run: `npm run bench:sessions` (BENCH_SESSIONS, default 200, from 1 to 1000).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ADMIN_API_KEY,
  assertPostgresReachable,
  createTempDatabase,
  envInt,
  freePort,
  httpRequest,
  log,
  machine,
  minimalEnv,
  Proc,
  ratio,
  readMemory,
  round,
  runMain,
  sleep,
  spawnNode,
  startWafleet,
  tempDir,
  waitForOk,
} from './support';
import { pool, waitFor, WafleetClient } from './sessions.client';

const SESSIONS = envInt('BENCH_SESSIONS', 200, 1, 1000);
const PAIR_CONCURRENCY = envInt('BENCH_PAIR_CONCURRENCY', 20, 1, 200);
const RELOGIN_CONCURRENCY = envInt('BENCH_RELOGIN_CONCURRENCY', 16, 1, 200);
const SETTLE_MS = envInt('BENCH_SETTLE_MS', 3000, 0, 60_000);
const DATABASE = process.env.BENCH_DATABASE || 'embedded';
if (DATABASE !== 'embedded' && DATABASE !== 'postgres') throw new Error(`BENCH_DATABASE=${DATABASE} must be embedded or postgres`);
const WAFLEET_PHONE_BASE = 1_000_000_000;
const BARE_PHONE_BASE = 2_000_000_000;
const SIM_ENTRY = join(__dirname, '..', 'apps', 'wa-sim', 'src', 'main.js');
const WORKER_ENTRY = join(__dirname, 'bare-baileys.worker.js');
const MB = 2 ** 20;
const SAMPLE_MS = 250;

interface SimStats {
  registrations: number;
  logins: number;
  live: number;
  conflicts: number;
}

interface Sim {
  proc: Proc;
  port: number;
  stats: () => Promise<SimStats>;
  /** Plays the phone of account `phone`: links the device showing `qr`. */
  scan: (qr: string, phone: string) => Promise<void>;
}

async function startSim(): Promise<Sim> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnNode([SIM_ENTRY], { ...minimalEnv(), WA_SIM_PORT: String(port) });
  await waitForOk(proc, `${url}/stats`);
  return {
    proc,
    port,
    stats: async () => JSON.parse((await httpRequest(`${url}/stats`)).body) as SimStats,
    scan: async (qr, phone) => {
      const res = await httpRequest(`${url}/scan`, { method: 'POST', body: { qr, phone } });
      if (res.status !== 200) throw new Error(`wa-sim POST /scan answered ${res.status}: ${res.body}`);
    },
  };
}

/**
 * Memory of the server over BENCH_SETTLE_MS: VmRSS from /proc at the end, heap used (/metrics) as its lowest
 * sample, the nearest to after a GC; the bare worker samples itself the same way.
 */
async function wafleetMemory(client: WafleetClient, pid: number) {
  let heapUsedBytes = Infinity;
  for (const end = performance.now() + SETTLE_MS; ; await sleep(SAMPLE_MS)) {
    heapUsedBytes = Math.min(heapUsedBytes, await client.heapUsedBytes());
    if (performance.now() >= end) break;
  }
  return { rssBytes: readMemory(pid).rssMB * MB, heapUsedBytes };
}

async function benchWafleet(sim: Sim) {
  const metricsKey = `bench-metrics-${randomBytes(16).toString('hex')}`;
  const dataDir = tempDir('wafleet-bench-sessions-');
  if (DATABASE === 'postgres') await assertPostgresReachable();
  const databaseUrl = DATABASE === 'postgres' ? (await createTempDatabase()).url : undefined;
  const env = { WA_WEBSOCKET_URL: `ws://127.0.0.1:${sim.port}/ws/chat`, METRICS_API_KEY: metricsKey };
  const start = () => startWafleet({ dataDir, databaseUrl, env });

  // The first boot creates the database (PGlite peaks near 0.8 GB doing so); the idle figure is taken on a
  // reopen, as the restarted server's will be.
  let server = await start();
  const freshReadyMs = server.readyMs;
  await server.proc.stop(60_000);
  server = await start();
  const idleReadyMs = server.readyMs;
  log(`wafleet ready in ${freshReadyMs} ms fresh, ${idleReadyMs} ms reopened (${DATABASE}); pairing ${SESSIONS} sessions, ${PAIR_CONCURRENCY} at a time`);
  const admin = new WafleetClient(server.baseUrl, ADMIN_API_KEY, metricsKey);
  const idle = await wafleetMemory(admin, server.proc.pid);
  const tenantKey = await admin.tenantKey('bench-sessions');
  let client = new WafleetClient(server.baseUrl, tenantKey, metricsKey);

  const pairStart = performance.now();
  const ids = await pool(SESSIONS, PAIR_CONCURRENCY, async (i) => {
    const id = await client.createAndStart(`bench-${i}`);
    const qr = await client.qr(id);
    await sim.scan(qr, String(WAFLEET_PHONE_BASE + i));
    await client.waitWorking(id);
    return id;
  });
  const pairAllMs = performance.now() - pairStart;
  if (new Set(ids).size !== SESSIONS) throw new Error('session ids are not distinct');
  const working = await wafleetMemory(client, server.proc.pid);
  log(`wafleet: ${SESSIONS} working after ${round(pairAllMs)} ms; rss ${round(working.rssBytes / MB)} MB (idle ${round(idle.rssBytes / MB)} MB)`);

  // Bring back: a clean stop, then a new process on the same database resumes every session.
  const before = await sim.stats();
  await server.proc.stop(60_000);
  await waitFor('wa-sim to see every wafleet socket closed', async () => ((await sim.stats()).live === 0 ? true : undefined), 30_000);
  server = await start();
  client = new WafleetClient(server.baseUrl, tenantKey, metricsKey);
  await waitFor(`all ${SESSIONS} sessions working again`, async () => ((await client.countWorking()) === SESSIONS ? true : undefined), 300_000);
  const restartToAllWorkingMs = performance.now() - server.proc.startedAt;
  const after = await sim.stats();
  const checks = { registrations: after.registrations - before.registrations, logins: after.logins - before.logins, conflicts: after.conflicts - before.conflicts };
  log(`wafleet restart: ready ${server.readyMs} ms, all working ${round(restartToAllWorkingMs)} ms; sim ${JSON.stringify(checks)}`);
  if (checks.registrations !== 0 || checks.logins !== SESSIONS || checks.conflicts !== 0) {
    throw new Error(`resume was not ${SESSIONS} plain logins: wa-sim counted ${JSON.stringify(checks)} (want registrations 0, logins ${SESSIONS}, conflicts 0)`);
  }
  const resumed = await wafleetMemory(client, server.proc.pid);
  await server.proc.stop(60_000);
  return { idle, working, resumed, pairAllMs, freshReadyMs, idleReadyMs, restartToReadyMs: server.readyMs, restartToAllWorkingMs, checks };
}

interface WorkerPhases {
  idle?: { rssBytes: number; heapUsedBytes: number };
  working?: { rssBytes: number; heapUsedBytes: number; pairAllMs: number };
  relogged?: { reloginAllMs: number };
}

async function benchBare(sim: Sim): Promise<Required<WorkerPhases>> {
  log(`bare: ${SESSIONS} Baileys sockets in one process`);
  const phases: WorkerPhases = {};
  const worker = spawnNode(
    [WORKER_ENTRY],
    {
      ...minimalEnv(),
      WA_SIM_PORT: String(sim.port),
      BENCH_SESSIONS: String(SESSIONS),
      BENCH_PAIR_CONCURRENCY: String(PAIR_CONCURRENCY),
      BENCH_RELOGIN_CONCURRENCY: String(RELOGIN_CONCURRENCY),
      BENCH_SETTLE_MS: String(SETTLE_MS),
      BENCH_PHONE_BASE: String(BARE_PHONE_BASE),
    },
    (line) => {
      if (!line.startsWith('{')) return;
      const { phase, ...figures } = JSON.parse(line) as { phase: keyof WorkerPhases };
      (phases as Record<string, unknown>)[phase] = figures;
      log(`bare: ${phase} ${JSON.stringify(figures)}`);
    },
  );
  await waitFor('the bare Baileys worker to finish', async () => (worker.exited() ? true : undefined), 600_000, 100);
  await worker.stop();
  if (!phases.idle || !phases.working || !phases.relogged) throw new Error(`the bare Baileys worker stopped early; output:\n${worker.output()}`);
  return phases as Required<WorkerPhases>;
}

async function main() {
  const started = performance.now();
  const sim = await startSim();
  const wafleet = await benchWafleet(sim);
  const bare = await benchBare(sim);
  await sim.proc.stop();

  const perSession = (a: { rssBytes: number; heapUsedBytes: number }, b: { rssBytes: number; heapUsedBytes: number }) => ({
    rssMB: round((b.rssBytes - a.rssBytes) / SESSIONS / MB, 3),
    heapKB: round((b.heapUsedBytes - a.heapUsedBytes) / SESSIONS / 1024, 1),
  });
  const w = perSession(wafleet.idle, wafleet.working);
  const wResumed = perSession(wafleet.idle, wafleet.resumed);
  const b = perSession(bare.idle, bare.working);
  return {
    bench: 'sessions',
    description:
      `${SESSIONS} WhatsApp sessions paired and working on one wafleet replica beside as many bare Baileys sockets in one process, ` +
      'both against wa-sim in the same run. Per-session memory = (all working - idle) / N, read without a forced GC (heap: lowest sample over settleMs). Ratios are wafleet / bare.',
    machine: machine(),
    sessions: SESSIONS,
    database: DATABASE,
    pairConcurrency: PAIR_CONCURRENCY,
    reloginConcurrency: RELOGIN_CONCURRENCY,
    settleMs: SETTLE_MS,
    wafleet: {
      rssPerSessionMB: w.rssMB,
      heapPerSessionKB: w.heapKB,
      afterRestart: { rssPerSessionMB: wResumed.rssMB, heapPerSessionKB: wResumed.heapKB },
      idleRssMB: round(wafleet.idle.rssBytes / MB, 1),
      workingRssMB: round(wafleet.working.rssBytes / MB, 1),
      freshBootReadyMs: round(wafleet.freshReadyMs),
      idleBootReadyMs: round(wafleet.idleReadyMs),
      restartToReadyMs: round(wafleet.restartToReadyMs),
      restartToAllWorkingMs: round(wafleet.restartToAllWorkingMs),
      readyToAllWorkingMs: round(wafleet.restartToAllWorkingMs - wafleet.restartToReadyMs),
      pairAllMs: round(wafleet.pairAllMs),
    },
    bare: {
      rssPerSocketMB: b.rssMB,
      heapPerSocketKB: b.heapKB,
      idleRssMB: round(bare.idle.rssBytes / MB, 1),
      workingRssMB: round(bare.working.rssBytes / MB, 1),
      reloginAllMs: round(bare.relogged.reloginAllMs),
      pairAllMs: round(bare.working.pairAllMs),
    },
    ratios: {
      rssPerSession: ratio(w.rssMB, b.rssMB),
      heapPerSession: ratio(w.heapKB, b.heapKB),
      bringBack: ratio(wafleet.restartToAllWorkingMs, bare.relogged.reloginAllMs),
      bringBackAfterReady: ratio(wafleet.restartToAllWorkingMs - wafleet.restartToReadyMs, bare.relogged.reloginAllMs),
      pairAll: ratio(wafleet.pairAllMs, bare.working.pairAllMs),
    },
    checks: wafleet.checks,
    wallMs: round(performance.now() - started),
  };
}

runMain(main);
