/**
 * Does database work stall HTTP? This boots wafleet twice, on the embedded database (PGlite, fresh
 * DATA_DIR) and on PostgreSQL (fresh database), then for each, for BENCH_SECONDS (default 10) in total,
 * probes GET /health (no database) every 20 ms from a worker thread and records its latency: with the
 * server idle (the baseline), and while 4 concurrent loops run POST /tenants + GET /tenants?limit=50 as
 * fast as the server answers. The time is cut into ~2 s slices alternating between the two servers (the
 * one not being measured sits idle), so noise on a shared machine falls on both alike. It reports
 * /health p50, p99 and max idle and under load, the ratio load/idle, the database throughput reached,
 * the server's CPU time on its main (HTTP) thread vs its other threads during the load, and embedded vs
 * PostgreSQL as ratios.
 *
 * What a good result looks like: under load /health gets slower in both modes, because the same two
 * cores now also parse, validate and serialise the load's requests and run the database. What must not
 * happen is that the embedded mode is much worse: PGlite runs its WebAssembly on a worker thread behind a
 * Unix socket, so its queries should cost the HTTP event loop no more than a query to an external
 * PostgreSQL does. So `embeddedVsPostgres.healthP99UnderLoad` should be near 1 (say below 2), and
 * `embedded.load.health.max` should be in the same range as `postgres.load.health.max`. A /health p99 or
 * max under embedded load of tens or hundreds of ms, while PostgreSQL's stays at a few ms, would mean
 * query execution (or a synchronous hand-off) is blocking the HTTP event loop. Throughput is expected to
 * differ (PGlite serves one connection at a time, PostgreSQL a pool); compare /health per mode with that
 * in mind. `serverCpu` shows where the work ran: with embedded, PGlite's CPU should appear under
 * otherThreadsSec, and mainThreadMsPerRequest should be close to PostgreSQL's (ratio near 1).
 * Run: `npm run bench:event-loop`.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  ADMIN_API_KEY,
  assertPostgresReachable,
  createTempDatabase,
  envInt,
  httpRequest,
  log,
  machine,
  percentile,
  ratio,
  readCpu,
  round,
  Running,
  runMain,
  sleep,
  startWafleet,
  summarize,
  tempDir,
} from './support';

const SECONDS = envInt('BENCH_SECONDS', 10, 1, 600);
const PROBE_INTERVAL_MS = 20;
const LOAD_LOOPS = 4;
const WARMUP_ITERATIONS = 20;
/** Each phase is cut into slices of about 2 s, interleaved between the modes. */
const SLICES = Math.max(1, Math.round(SECONDS / 2));

interface ProbeJob {
  url: string;
  intervalMs: number;
  durationMs: number;
}
interface ProbeResult {
  latencies: number[];
  failures: number;
}

/** Worker side: GET /health on a fixed 20 ms schedule over one keep-alive connection, no overlap. */
async function probeInWorker(job: ProbeJob): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const result: ProbeResult = { latencies: [], failures: 0 };
  const start = performance.now();
  const count = Math.floor(job.durationMs / job.intervalMs);
  for (let i = 0; i < count && performance.now() - start < job.durationMs + 5000; i++) {
    const wait = start + i * job.intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    try {
      const { status } = await httpRequest(job.url, { agent, timeoutMs: 10000 });
      if (status === 200) result.latencies.push(performance.now() - sent);
      else result.failures++;
    } catch {
      result.failures++;
    }
  }
  agent.destroy();
  parentPort!.postMessage(result);
}

/** Main side: runs the probe on its own thread, so the load generator's work does not delay it. */
function probe(baseUrl: string, durationMs: number): Promise<ProbeResult> {
  const job: ProbeJob = { url: `${baseUrl}/health`, intervalMs: PROBE_INTERVAL_MS, durationMs };
  const worker = new Worker(__filename, { workerData: job });
  let timer: NodeJS.Timeout | undefined;
  return new Promise<ProbeResult>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the /health probe did not finish in time')), durationMs + 30000);
    worker.once('message', (result: ProbeResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the /health probe exited with code ${code} before reporting`)));
  }).finally(() => {
    clearTimeout(timer);
    void worker.terminate();
  });
}

interface LoadResult {
  writes: number;
  reads: number;
  errors: number;
  firstError?: string;
  latencies: number[];
  elapsedMs: number;
}

/** LOAD_LOOPS concurrent loops of POST /tenants then GET /tenants?limit=50, until the deadline. */
async function load(baseUrl: string, durationMs: number, prefix: string): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOAD_LOOPS });
  const headers = { 'x-api-key': ADMIN_API_KEY };
  const result: LoadResult = { writes: 0, reads: 0, errors: 0, latencies: [], elapsedMs: 0 };
  const start = performance.now();
  const deadline = start + durationMs;
  const timed = async (expect: number, url: string, o: Parameters<typeof httpRequest>[1]) => {
    const sent = performance.now();
    try {
      const { status, body } = await httpRequest(url, { ...o, agent, headers });
      result.latencies.push(performance.now() - sent);
      if (status === expect) return true;
      result.firstError ??= `${o?.method ?? 'GET'} ${url} -> ${status} ${body.slice(0, 200)}`;
    } catch (error) {
      result.firstError ??= (error as Error).message;
    }
    result.errors++;
    return false;
  };
  const loop = async (n: number) => {
    for (let i = 0; i < 1_000_000 && performance.now() < deadline; i++) {
      if (await timed(201, `${baseUrl}/tenants`, { method: 'POST', body: { name: `${prefix}-${n}-${i}` } })) result.writes++;
      if (await timed(200, `${baseUrl}/tenants?limit=50`, {})) result.reads++;
    }
  };
  await Promise.all(Array.from({ length: LOAD_LOOPS }, (_, n) => loop(n)));
  result.elapsedMs = performance.now() - start;
  agent.destroy();
  return result;
}

type Mode = 'embedded' | 'postgres';
interface Subject {
  mode: Mode;
  server: Running;
  dropDatabase: () => Promise<void>;
  prefix: string;
  idle: ProbeResult;
  loaded: ProbeResult;
  db: LoadResult;
  cpu: { mainSec: number; totalSec: number };
}

/** Boots wafleet for `mode` (fresh DATA_DIR or fresh database) and warms it up. */
async function startSubject(mode: Mode): Promise<Subject> {
  const database = mode === 'postgres' ? await createTempDatabase() : undefined;
  const server = await startWafleet({ dataDir: tempDir(`wafleet-bench-el-${mode}-`), databaseUrl: database?.url });
  log(`${mode}: ready in ${server.readyMs} ms; warming up`);
  const prefix = `el-${mode}-${Date.now().toString(36)}`;
  const headers = { 'x-api-key': ADMIN_API_KEY };
  for (let i = 0; i < WARMUP_ITERATIONS; i++) {
    const post = await httpRequest(`${server.baseUrl}/tenants`, { method: 'POST', headers, body: { name: `${prefix}-w-${i}` } });
    if (post.status !== 201) throw new Error(`${mode}: warm-up POST /tenants answered ${post.status}: ${post.body.slice(0, 300)}`);
    await httpRequest(`${server.baseUrl}/tenants?limit=50`, { headers });
    await httpRequest(`${server.baseUrl}/health`);
  }
  const none = () => ({ latencies: [], failures: 0 });
  return { mode, server, dropDatabase: async () => database?.drop(), prefix, idle: none(), loaded: none(), db: { writes: 0, reads: 0, errors: 0, latencies: [], elapsedMs: 0 }, cpu: { mainSec: 0, totalSec: 0 } };
}

const addProbe = (into: ProbeResult, r: ProbeResult) => {
  into.latencies.push(...r.latencies);
  into.failures += r.failures;
};

/** One slice: /health alone (idle baseline), then /health beside the write+read loops. */
async function slice(subject: Subject, n: number, durationMs: number): Promise<void> {
  const { baseUrl, proc } = subject.server;
  addProbe(subject.idle, await probe(baseUrl, durationMs));
  const before = readCpu(proc.pid);
  const [loaded, db] = await Promise.all([probe(baseUrl, durationMs), load(baseUrl, durationMs, `${subject.prefix}-${n}`)]);
  const after = readCpu(proc.pid);
  addProbe(subject.loaded, loaded);
  subject.cpu.mainSec += after.mainThreadSec - before.mainThreadSec;
  subject.cpu.totalSec += after.totalSec - before.totalSec;
  const t = subject.db;
  Object.assign(t, { writes: t.writes + db.writes, reads: t.reads + db.reads, errors: t.errors + db.errors, elapsedMs: t.elapsedMs + db.elapsedMs });
  t.latencies.push(...db.latencies);
  t.firstError ??= db.firstError;
}

function report({ mode, idle, loaded, db, cpu }: Subject) {
  const requests = db.writes + db.reads;
  if (requests === 0) throw new Error(`${mode}: no database request succeeded; first error: ${db.firstError}`);
  const idleHealth = summarize(idle.latencies);
  const loadHealth = summarize(loaded.latencies);
  const seconds = db.elapsedMs / 1000;
  const otherSec = cpu.totalSec - cpu.mainSec;
  return {
    idle: { health: { ...idleHealth, failures: idle.failures } },
    load: {
      health: { ...loadHealth, failures: loaded.failures },
      db: {
        requestsPerSec: round(requests / seconds, 1),
        writesPerSec: round(db.writes / seconds, 1),
        readsPerSec: round(db.reads / seconds, 1),
        latencyMs: { p50: round(percentile(db.latencies, 50)), p99: round(percentile(db.latencies, 99)) },
        errors: db.errors,
        ...(db.firstError ? { firstError: db.firstError } : {}),
      },
      serverCpu: {
        mainThreadSec: round(cpu.mainSec),
        otherThreadsSec: round(otherSec),
        mainThreadMsPerRequest: round((cpu.mainSec * 1000) / requests, 3),
        otherThreadsMsPerRequest: round((otherSec * 1000) / requests, 3),
      },
    },
    healthLoadVsIdle: { p50: ratio(loadHealth.p50, idleHealth.p50), p99: ratio(loadHealth.p99, idleHealth.p99), max: ratio(loadHealth.max, idleHealth.max) },
  };
}

async function main() {
  await assertPostgresReachable();
  const subjects = [await startSubject('embedded'), await startSubject('postgres')];
  const sliceMs = (SECONDS * 1000) / SLICES;
  for (let n = 0; n < SLICES; n++) {
    // Alternate which mode goes first, so a noisy moment on the machine hits both alike.
    for (const subject of n % 2 ? [...subjects].reverse() : subjects) {
      log(`slice ${n + 1}/${SLICES} ${subject.mode}: ${round(sliceMs / 1000)} s idle, ${round(sliceMs / 1000)} s under load`);
      await slice(subject, n, sliceMs);
    }
  }
  for (const subject of subjects) {
    await subject.server.proc.stop();
    await subject.dropDatabase();
  }
  const [embedded, postgres] = subjects.map(report);
  const e = embedded.load;
  const p = postgres.load;
  return {
    bench: 'event-loop',
    description: `/health latency (ms) probed every ${PROBE_INTERVAL_MS} ms from a worker thread, idle (baseline) vs under ${LOAD_LOOPS} concurrent POST /tenants + GET /tenants?limit=50 loops, ${SECONDS} s of each per mode, in ${SLICES} interleaved slices.`,
    seconds: SECONDS,
    embedded,
    postgres,
    embeddedVsPostgres: {
      healthP50UnderLoad: ratio(e.health.p50, p.health.p50),
      healthP99UnderLoad: ratio(e.health.p99, p.health.p99),
      healthMaxUnderLoad: ratio(e.health.max, p.health.max),
      healthP99LoadVsIdle: ratio(embedded.healthLoadVsIdle.p99 ?? 0, postgres.healthLoadVsIdle.p99 ?? 0),
      healthP99Idle: ratio(embedded.idle.health.p99, postgres.idle.health.p99),
      dbRequestsPerSec: ratio(e.db.requestsPerSec, p.db.requestsPerSec),
      mainThreadCpuMsPerRequest: ratio(e.serverCpu.mainThreadMsPerRequest, p.serverCpu.mainThreadMsPerRequest),
    },
    machine: machine(),
  };
}

if (isMainThread) runMain(main);
else void probeInWorker(workerData as ProbeJob);
