/**
 * What the request limit (libs/billing RequestLimitGuard → Quotas.takeRequest → Counters.take) adds
 * to a request, beside what Redis itself costs. One wafleet replica on PostgreSQL (a throwaway database)
 * and Redis (SYNC_BACKEND=redis, a per-run key prefix) serves two tenants:
 *   limited    on a plan whose requestsPerMinute is so high that nothing is refused: every request runs
 *              the limiter (one Counters.take script in Redis) and answers the RateLimit-* headers
 *   unlimited  on no plan: the guard returns before any Redis call
 * Both drive the same cheap authenticated route, GET /sessions (an empty list), over keep-alive
 * connections at the same concurrency (BENCH_CONCURRENCY, default 1: one request at a time, so the
 * figure is the limiter's own cost, not queueing behind other requests), in batches of BENCH_BATCH
 * (default 200) that alternate tenant (order flipped every batch) so machine noise hits both alike;
 * BENCH_REQUESTS (default 6000) are timed per tenant after BENCH_WARMUP (default 500).
 * added = limited − unlimited, at p50 and at p99 (each percentile of its own distribution).
 * Beside it, from this process with ioredis to the same Redis, one command at a time, BENCH_REDIS_OPS
 * (default 6000) of each, run after every HTTP batch in equal shares:
 *   incr       a raw INCR round trip: the floor of any shared counter
 *   takeScript EVALSHA of the very TAKE script Counters.take runs (libs/sync REDIS_SCRIPTS.TAKE)
 * Latencies are in microseconds; ratios are added / raw (p50 over p50, p99 over p99).
 * Every timed answer must be a 200, the limited ones with RateLimit-Limit and the unlimited ones without,
 * or the bench fails. Database: BENCH_DATABASE_URL (loopback); Redis: BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379), its keys deleted at the end. Run: `npm run bench:billing`.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { REDIS_SCRIPTS } from '@wafleet/sync';
import { deleteRedisKeys } from '../tools/cluster/backing-services';
import { ADMIN_API_KEY, createTempDatabase, envInt, httpRequest, log, machine, onCleanup, ratio, round, runMain, startWafleet, summarize, tempDir } from './support';

const REQUESTS = envInt('BENCH_REQUESTS', 6000, 100, 1_000_000);
const WARMUP = envInt('BENCH_WARMUP', 500, 0, 100_000);
const BATCH = envInt('BENCH_BATCH', 200, 10, 100_000);
const CONCURRENCY = envInt('BENCH_CONCURRENCY', 1, 1, 256);
const REDIS_OPS = envInt('BENCH_REDIS_OPS', 6000, 100, 1_000_000);
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const PREFIX = `wafleet-bench-billing-${randomBytes(4).toString('hex')}:`;
/** requestsPerMinute of the limited tenant: far above what the run can send. */
const HUGE_LIMIT = 2_000_000_000;

interface Tenant {
  name: 'limited' | 'unlimited';
  key: string;
  micros: number[];
}

async function admin(baseUrl: string, method: string, path: string, body: unknown, expected: number): Promise<any> {
  const answer = await httpRequest(`${baseUrl}${path}`, { method, body, headers: { 'x-api-key': ADMIN_API_KEY } });
  if (answer.status !== expected) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.body}`);
  return JSON.parse(answer.body);
}

async function newTenant(baseUrl: string, name: Tenant['name']): Promise<Tenant> {
  const tenant = await admin(baseUrl, 'POST', '/tenants', { name: `bench-${name}` }, 201);
  const issued = await admin(baseUrl, 'POST', `/tenants/${tenant.id}/api-keys`, {}, 201);
  if (name === 'limited') {
    const plan = await admin(baseUrl, 'POST', '/plans', { name: 'bench-huge', requestsPerMinute: HUGE_LIMIT }, 201);
    await admin(baseUrl, 'PUT', `/tenants/${tenant.id}/plan`, { planId: plan.id }, 200);
  }
  return { name, key: issued.key, micros: [] };
}

/** One GET /sessions; checks it was served and whether the limiter ran; answers its latency in µs. */
function timedGet(url: string, tenant: Tenant, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { agent, headers: { 'x-api-key': tenant.key } }, (res) => {
      res.resume();
      res.on('end', () => {
        const micros = (performance.now() - started) * 1000;
        const limited = res.headers['ratelimit-limit'] !== undefined;
        if (res.statusCode !== 200) reject(new Error(`${tenant.name}: GET /sessions answered ${res.statusCode}`));
        else if (limited !== (tenant.name === 'limited')) reject(new Error(`${tenant.name}: RateLimit-Limit ${limited ? 'present' : 'missing'}`));
        else resolve(micros);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** `count` requests of one tenant, `CONCURRENCY` in flight at a time. */
async function batch(url: string, tenant: Tenant, agent: http.Agent, count: number, keep: boolean): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const micros = await timedGet(url, tenant, agent);
        if (keep) tenant.micros.push(micros);
      }
    }),
  );
}

/** Round trips of `op`, one at a time, in µs. */
async function roundTrips(op: (i: number) => Promise<unknown>, count: number): Promise<number[]> {
  const micros: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await op(i);
    micros.push((performance.now() - started) * 1000);
  }
  return micros;
}

async function main() {
  const redis = new Redis(REDIS_URL, { enableOfflineQueue: true, maxRetriesPerRequest: 0, connectTimeout: 3000, lazyConnect: true });
  await redis.connect().catch((error: Error) => {
    throw new Error(`Redis is not reachable at BENCH_REDIS_URL=${REDIS_URL} (${error.message})`);
  });
  onCleanup(() => redis.quit());
  onCleanup(() => deleteRedisKeys(REDIS_URL, PREFIX));

  const database = await createTempDatabase();
  log('starting one replica on PostgreSQL + Redis');
  const server = await startWafleet({
    dataDir: tempDir('wafleet-bench-billing-'),
    databaseUrl: database.url,
    env: { SYNC_BACKEND: 'redis', REDIS_URL, REDIS_KEY_PREFIX: PREFIX },
  });
  const tenants = [await newTenant(server.baseUrl, 'limited'), await newTenant(server.baseUrl, 'unlimited')];
  const url = `${server.baseUrl}/sessions`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  onCleanup(() => agent.destroy());

  log(`warm-up: ${WARMUP} requests per tenant`);
  for (const tenant of tenants) await batch(url, tenant, agent, WARMUP, false);
  const take = (i: number) => redis.evalsha(sha, 1, `${PREFIX}raw-take:${i % 16}`, HUGE_LIMIT, 60_000, 1);
  const sha = (await redis.script('LOAD', REDIS_SCRIPTS.TAKE)) as string;
  await roundTrips(() => redis.incr(`${PREFIX}raw-incr`), 200);
  await roundTrips(take, 200);
  const raw = { incr: [] as number[], takeScript: [] as number[] };
  const batches = Math.ceil(REQUESTS / BATCH);
  const redisPerBatch = Math.ceil(REDIS_OPS / batches);
  log(`timing ${REQUESTS} requests per tenant, ${CONCURRENCY} in flight, batches of ${BATCH} alternating with ${redisPerBatch} INCR and TAKE scripts`);
  for (let done = 0, flip = false; done < REQUESTS; done += BATCH, flip = !flip) {
    const size = Math.min(BATCH, REQUESTS - done);
    for (const tenant of flip ? [...tenants].reverse() : tenants) await batch(url, tenant, agent, size, true);
    raw.incr.push(...(await roundTrips(() => redis.incr(`${PREFIX}raw-incr`), redisPerBatch)));
    raw.takeScript.push(...(await roundTrips(take, redisPerBatch)));
  }
  const incr = summarize(raw.incr);
  const takeScript = summarize(raw.takeScript);

  const [limited, unlimited] = tenants.map((tenant) => summarize(tenant.micros));
  const added = { p50: round(limited.p50 - unlimited.p50), p99: round(limited.p99 - unlimited.p99) };
  return {
    bench: 'billing',
    machine: machine(),
    config: { requests: REQUESTS, warmup: WARMUP, batch: BATCH, concurrency: CONCURRENCY, redisOps: REDIS_OPS, route: 'GET /sessions' },
    unit: 'µs',
    http: { limited, unlimited },
    added,
    redis: { incr, takeScript },
    ratios: {
      addedP50OverIncrP50: ratio(added.p50, incr.p50),
      addedP99OverIncrP99: ratio(added.p99, incr.p99),
      addedP50OverTakeScriptP50: ratio(added.p50, takeScript.p50),
      limitedP50OverUnlimitedP50: ratio(limited.p50, unlimited.p50),
    },
  };
}

runMain(main);
