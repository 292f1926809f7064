/**
 * What the sync primitives (libs/sync) cost on top of Redis itself. Two Redis bindings (instances A and
 * B: two instanceIds, one key prefix, as two replicas would be) and one memory binding run in this
 * process; beside them, plain ioredis clients made with the same fail-fast options the binding uses
 * (no offline queue, no retries per request, the same command timeout) issue the raw command(s) each
 * primitive boils down to:
 *   lock.acquire       SET key token PX ttl NX                vs Lock.acquire
 *   lock.release       EVALSHA compare-and-del (same script) vs Lock.release
 *   counters.take      EVALSHA of the same TAKE script         vs Counters.take     (INCR shown as the floor)
 *   cache.get          GET                                     vs Cache.get
 *   cache.set          SET key json PX ttl                     vs Cache.set
 *   pubsub             PUBLISH -> 'message' on another conn.   vs A.publish -> B's handler
 *   rendezvous         MULTI(SET PX, PUBLISH) -> 'message'     vs B.wait, A.signal -> B resolved
 *   bus.request        request/reply over two pub/sub pairs    vs A.bus.request(B) -> B echoes -> A
 *   cluster.instances  EVALSHA of the same LIVE script          vs Cluster.instances ("return 1" shown as the floor)
 * Operations run one at a time (each awaited before the next); after BENCH_WARMUP (default 200) warm-up
 * operations per side, BENCH_OPS (default 2000) are timed per side, in batches of BENCH_BATCH (default 50)
 * that alternate binding, raw and memory (order flipped every batch) so machine noise hits all alike.
 * Latencies are in microseconds; `ratio` is binding / raw, and the goal is a p50 ratio of at most 1.5.
 * Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379); every key lives under a per-run prefix that is
 * SCANned and deleted at the end. Run: `npm run bench:sync`.
 */
import { Logger, LoggerService } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis, RedisOptions } from 'ioredis';
import { Registry } from 'prom-client';
import { REDIS_SCRIPTS, SyncBindings, SyncModuleOptions } from '@wafleet/sync';
import { envInt, log, machine, onCleanup, ratio, runMain, summarize } from './support';

const OPS = envInt('BENCH_OPS', 2000, 10, 1_000_000);
const WARMUP = envInt('BENCH_WARMUP', 200, 0, 100_000);
const BATCH = envInt('BENCH_BATCH', 50, 1, 100_000);
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const PREFIX = `wafleet-bench-sync-${randomBytes(4).toString('hex')}:`;
const GOAL = 1.5;
/** Longest wait for a message to arrive before the bench gives up (it should take well under 1 ms). */
const DELIVERY_TIMEOUT_MS = 5000;

const COMMAND_TIMEOUT_MS = 1000;
const LOCK_TTL_MS = 30_000;
const CACHE_TTL_MS = 60_000;
const WINDOW_MS = 60_000;
const LIMIT = 1_000_000_000;
/** A small JSON value, as the cache, pub/sub, rendezvous and bus would typically carry. */
const VALUE = { id: 'tenant-42', n: 7, tags: ['a', 'b'], at: '2025-01-01T00:00:00.000Z' };
const VALUE_JSON = JSON.stringify(VALUE);

// The binding's own scripts (libs/sync exports them), so the raw baselines run the very same work in Redis.
const { RELEASE, TAKE, LIVE } = REDIS_SCRIPTS;

/** The binding's options: the shape of libs/sync/test/sync-options.ts, with the production defaults (SyncConfig in libs/config). */
const syncOptions = (overrides: Pick<SyncModuleOptions, 'backend' | 'instanceId'>): SyncModuleOptions => ({
  version: '0.0.0-bench',
  redisUrl: REDIS_URL,
  keyPrefix: PREFIX,
  sentinelName: 'mymaster',
  commandTimeoutMs: COMMAND_TIMEOUT_MS,
  heartbeatIntervalMs: 2000,
  heartbeatTimeoutMs: 10_000,
  busMaxPayloadBytes: 1024 * 1024,
  rendezvousTtlMs: 30_000,
  ...overrides,
});

/** What RedisConnections sets (libs/sync/src/redis/redis-connections.ts, connectionOptions), minus reconnection. */
const rawOptions = (name: string): RedisOptions => ({
  connectionName: name,
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResubscribe: false,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: Math.max(COMMAND_TIMEOUT_MS, 1000),
  retryStrategy: () => null,
});

const shownUrl = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/**
 * Nest's default logger writes to stdout, which must stay one JSON document: warnings and errors go to stderr.
 * Muted once the figures are taken: a clean stop makes RedisConnections warn "Redis is unreachable" (its
 * 'close'/'end' listeners, libs/sync/src/redis/redis-connections.ts:27), which is not news here.
 */
let muted = false;
const text = (message: unknown) => (typeof message === 'string' ? message : JSON.stringify(message));
const stderrLogger: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown) => muted || log(`warn: ${text(message)}`),
  error: (message: unknown) => muted || log(`error: ${text(message)}`),
};

async function rawClient(role: string): Promise<Redis> {
  const client = new Redis(REDIS_URL, rawOptions(`bench-raw:${role}`));
  client.on('error', () => undefined); // connect() rejects with the reason
  onCleanup(() => client.disconnect());
  await client.connect();
  return client;
}

async function assertRedisReachable(): Promise<string> {
  const probe = new Redis(REDIS_URL, { ...rawOptions('bench-probe'), connectTimeout: 3000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const info = await probe.info('server');
    return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  } catch (error) {
    throw new Error(
      `Redis is not reachable at BENCH_REDIS_URL=${shownUrl(REDIS_URL)} (${(error as Error).message}). Set BENCH_REDIS_URL=redis://host:port ` +
        'or start the local one: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
  } finally {
    probe.disconnect();
  }
}

/** SCAN + DEL of every key under this run's prefix. */
async function deleteKeys(client: Redis): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length) deleted += await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

/** The moment the next awaited event fires: `arm()` before the operation, `fire()` from the handler. */
class Arrival {
  private resolve?: (at: number) => void;
  arm(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no delivery within ${DELIVERY_TIMEOUT_MS} ms`)), DELIVERY_TIMEOUT_MS);
      this.resolve = (at) => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve(at);
      };
    });
  }
  fire(): void {
    this.resolve?.(performance.now());
  }
}

/** One operation; resolves to its latency in ms (set-up steps it needs are not timed). */
type Op = (i: number) => Promise<number>;
const timed = (work: (i: number) => Promise<unknown>): Op => async (i) => {
  const start = performance.now();
  await work(i);
  return performance.now() - start;
};

interface Side {
  label: string;
  what: string;
  op: Op;
}

/** Warms every side up, then times OPS operations per side in alternating batches; latencies in µs. */
async function compare(name: string, sides: Side[]): Promise<Map<string, number[]>> {
  let i = 0;
  for (const side of sides) for (let w = 0; w < WARMUP; w++) await side.op(i++);
  const samples = new Map(sides.map((side) => [side.label, [] as number[]]));
  for (let batch = 0, done = 0; done < OPS; batch++, done += BATCH) {
    const order = batch % 2 ? [...sides].reverse() : sides;
    for (const side of order) {
      const into = samples.get(side.label)!;
      for (let n = 0; n < Math.min(BATCH, OPS - done); n++) into.push((await side.op(i++)) * 1000);
    }
  }
  const p50 = (label: string) => summarize(samples.get(label)!).p50;
  log(`${name}: ${sides.map((side) => `${side.label} p50 ${p50(side.label)} µs`).join(', ')}`);
  return samples;
}

function report(sides: Side[], samples: Map<string, number[]>) {
  const out: Record<string, unknown> = {};
  for (const side of sides) out[side.label] = { what: side.what, ...summarize(samples.get(side.label)!) };
  const binding = summarize(samples.get('binding')!);
  const raw = summarize(samples.get('raw')!);
  const p50 = ratio(binding.p50, raw.p50);
  return { ...out, ratio: { p50, p99: ratio(binding.p99, raw.p99) }, goalMet: p50 !== null && p50 <= GOAL };
}

async function main() {
  Logger.overrideLogger(stderrLogger);
  const redisVersion = await assertRedisReachable();
  log(`Redis ${redisVersion} at ${shownUrl(REDIS_URL)}, key prefix ${PREFIX}; ${OPS} ops per side after ${WARMUP} warm-up, batches of ${BATCH}`);

  // Cleanups run in reverse: bindings stop, then keys go, then the raw clients close.
  const cmd = await rawClient('command');
  // The binding runs its scripts by SHA (EVALSHA); so do the raw baselines.
  const releaseSha = (await cmd.script('LOAD', RELEASE)) as string;
  const takeSha = (await cmd.script('LOAD', TAKE)) as string;
  onCleanup(async () => log(`deleted ${await deleteKeys(cmd)} keys under ${PREFIX}`));
  const pub = await rawClient('publish');
  const sub = await rawClient('subscribe');
  const pubB = await rawClient('publish-b');
  const subB = await rawClient('subscribe-b');

  const tag = randomBytes(3).toString('hex');
  const open = async (backend: 'memory' | 'redis', instanceId: string) => {
    const bindings = await SyncBindings.create(syncOptions({ backend, instanceId }), new Registry());
    onCleanup(() => bindings.stop());
    await bindings.start();
    return bindings;
  };
  const a = await open('redis', `bench-a-${tag}`);
  const b = await open('redis', `bench-b-${tag}`);
  const mem = await open('memory', `bench-mem-${tag}`);
  if (!a.status().up || !b.status().up) throw new Error('the Redis bindings did not connect');
  await a.cluster.instances(); // A saw B's first heartbeat only if B started first: refresh A's view of the live instances
  const key = (name: string) => `${PREFIX}raw:${name}`;
  const results: Record<string, unknown> = {};

  // Lock: acquire and release timed separately; the other half of the pair runs untimed.
  {
    const sides: Side[] = [
      {
        label: 'binding',
        what: 'Lock.acquire (Redis)',
        op: async () => {
          const start = performance.now();
          const token = await a.lock.acquire('l-acq', LOCK_TTL_MS);
          const ms = performance.now() - start;
          if (!token || !(await a.lock.release('l-acq', token))) throw new Error('lock.acquire: not acquired or not released');
          return ms;
        },
      },
      {
        label: 'raw',
        what: 'SET key token PX 30000 NX',
        op: async (i) => {
          const token = `t${i}`;
          const start = performance.now();
          const ok = await cmd.set(key('l-acq'), token, 'PX', LOCK_TTL_MS, 'NX');
          const ms = performance.now() - start;
          if (ok !== 'OK' || (await cmd.evalsha(releaseSha, 1, key('l-acq'), token)) !== 1) throw new Error('raw lock: not acquired or not released');
          return ms;
        },
      },
      {
        label: 'memory',
        what: 'Lock.acquire (memory)',
        op: async () => {
          const start = performance.now();
          const token = await mem.lock.acquire('l-acq', LOCK_TTL_MS);
          const ms = performance.now() - start;
          await mem.lock.release('l-acq', token!);
          return ms;
        },
      },
    ];
    results['lock.acquire'] = report(sides, await compare('lock.acquire', sides));
  }
  {
    const sides: Side[] = [
      {
        label: 'binding',
        what: 'Lock.release (Redis)',
        op: async () => {
          const token = await a.lock.acquire('l-rel', LOCK_TTL_MS);
          const start = performance.now();
          const released = await a.lock.release('l-rel', token!);
          const ms = performance.now() - start;
          if (!released) throw new Error('lock.release: not released');
          return ms;
        },
      },
      {
        label: 'raw',
        what: 'EVALSHA compare-and-del (the binding\'s RELEASE script)',
        op: async (i) => {
          const token = `t${i}`;
          await cmd.set(key('l-rel'), token, 'PX', LOCK_TTL_MS, 'NX');
          const start = performance.now();
          const released = await cmd.evalsha(releaseSha, 1, key('l-rel'), token);
          const ms = performance.now() - start;
          if (released !== 1) throw new Error('raw release: not released');
          return ms;
        },
      },
      {
        label: 'memory',
        what: 'Lock.release (memory)',
        op: async () => {
          const token = await mem.lock.acquire('l-rel', LOCK_TTL_MS);
          const start = performance.now();
          await mem.lock.release('l-rel', token!);
          return performance.now() - start;
        },
      },
    ];
    results['lock.release'] = report(sides, await compare('lock.release', sides));
  }

  // Counters: the same script raw; INCR shown as the one-command floor.
  {
    const sides: Side[] = [
      { label: 'binding', what: 'Counters.take (Redis)', op: timed(() => a.counters.take('take', LIMIT, WINDOW_MS)) },
      { label: 'raw', what: 'EVALSHA of the binding\'s TAKE script', op: timed(() => cmd.evalsha(takeSha, 1, key('take'), LIMIT, WINDOW_MS, 1)) },
      { label: 'rawIncr', what: 'INCR (one plain command: the floor)', op: timed(() => cmd.incr(key('incr'))) },
      { label: 'memory', what: 'Counters.take (memory)', op: timed(() => mem.counters.take('take', LIMIT, WINDOW_MS)) },
    ];
    const samples = await compare('counters.take', sides);
    results['counters.take'] = { ...report(sides, samples), bindingVsIncr: ratio(summarize(samples.get('binding')!).p50, summarize(samples.get('rawIncr')!).p50) };
  }

  // Cache
  await a.cache.set('c', VALUE, CACHE_TTL_MS);
  await cmd.set(key('c'), VALUE_JSON, 'PX', CACHE_TTL_MS);
  await mem.cache.set('c', VALUE, CACHE_TTL_MS);
  {
    const sides: Side[] = [
      {
        label: 'binding',
        what: 'Cache.get (Redis) of a small JSON object',
        op: async () => {
          const start = performance.now();
          const got = await a.cache.get('c');
          const ms = performance.now() - start;
          if (got === undefined) throw new Error('cache.get: miss');
          return ms;
        },
      },
      { label: 'raw', what: 'GET (the same JSON text)', op: timed(() => cmd.get(key('c'))) },
      { label: 'memory', what: 'Cache.get (memory)', op: timed(() => mem.cache.get('c')) },
    ];
    results['cache.get'] = report(sides, await compare('cache.get', sides));
  }
  {
    const sides: Side[] = [
      { label: 'binding', what: 'Cache.set (Redis) of a small JSON object', op: timed(() => a.cache.set('c', VALUE, CACHE_TTL_MS)) },
      { label: 'raw', what: 'SET key json PX 60000 (JSON text made beforehand)', op: timed(() => cmd.set(key('c'), VALUE_JSON, 'PX', CACHE_TTL_MS)) },
      { label: 'memory', what: 'Cache.set (memory)', op: timed(() => mem.cache.set('c', VALUE, CACHE_TTL_MS)) },
    ];
    results['cache.set'] = report(sides, await compare('cache.set', sides));
  }

  // Pub/sub: publish on one connection, time until the handler on the other side runs.
  {
    const onB = new Arrival();
    const onRaw = new Arrival();
    const onMem = new Arrival();
    await b.pubsub.subscribe('bench', () => onB.fire());
    await mem.pubsub.subscribe('bench', () => onMem.fire());
    const rawChannel = key('ps:bench');
    sub.on('message', (channel: string) => channel === rawChannel && onRaw.fire());
    await sub.subscribe(rawChannel);
    const delivery = (arrival: Arrival, publish: () => Promise<unknown>): Op => async () => {
      const arrived = arrival.arm();
      const start = performance.now();
      const published = publish();
      const at = await arrived;
      await published;
      return at - start;
    };
    const sides: Side[] = [
      { label: 'binding', what: 'A.pubsub.publish -> handler on B', op: delivery(onB, () => a.pubsub.publish('bench', VALUE)) },
      { label: 'raw', what: "PUBLISH on one connection -> 'message' on another (subscriber) connection", op: delivery(onRaw, () => pub.publish(rawChannel, VALUE_JSON)) },
      { label: 'memory', what: 'PubSub.publish -> local handler (memory)', op: delivery(onMem, () => mem.pubsub.publish('bench', VALUE)) },
    ];
    results.pubsub = report(sides, await compare('pubsub', sides));
  }

  // Rendezvous: B waits (its GET done, untimed), then A signals; time until B's wait resolves. Every instance
  // listens on the one rendezvous channel, so A's subscriber gets each signal too (and drops it, being its
  // origin); rawTwoSubscribers adds such a second listening connection to the raw case, to show what that costs.
  {
    const onRaw = new Arrival();
    const rawChannel = key('ps:rdv');
    const rawChannel2 = key('ps:rdv2');
    const sub2 = await rawClient('subscribe-2');
    sub.on('message', (channel: string) => (channel === rawChannel || channel === rawChannel2) && onRaw.fire());
    sub2.on('message', (channel: string, data: string) => void (channel === rawChannel2 && JSON.parse(data))); // the listener that drops it
    await sub.subscribe(rawChannel, rawChannel2);
    await sub2.subscribe(rawChannel2);
    const rawSignal = (channel: string): Op => async (i) => {
      const arrived = onRaw.arm();
      const start = performance.now();
      const sent = cmd.multi().set(key(`rdv:r${i}`), VALUE_JSON, 'PX', 30_000).publish(channel, VALUE_JSON).exec();
      const at = await arrived;
      await sent;
      return at - start;
    };
    const sides: Side[] = [
      {
        label: 'binding',
        what: 'B.rendezvous.wait, then A.rendezvous.signal -> B resolved',
        op: async (i) => {
          const waited = b.rendezvous.wait(`r${i}`, DELIVERY_TIMEOUT_MS);
          await b.cache.get('barrier'); // same connection as the wait's GET: once this answers, the wait is listening
          const start = performance.now();
          const signalled = a.rendezvous.signal(`r${i}`, VALUE);
          const value = await waited;
          const ms = performance.now() - start;
          await signalled;
          if (value === undefined) throw new Error('rendezvous: wait timed out');
          return ms;
        },
      },
      { label: 'raw', what: "MULTI(SET key json PX 30000, PUBLISH) EXEC -> 'message' on the subscriber connection", op: rawSignal(rawChannel) },
      {
        label: 'rawTwoSubscribers',
        what: 'the same, with a second subscriber connection in this process also getting (and parsing) each message, as A does',
        op: rawSignal(rawChannel2),
      },
      {
        label: 'memory',
        what: 'wait, then signal -> resolved (memory)',
        op: async (i) => {
          const waited = mem.rendezvous.wait(`r${i}`, DELIVERY_TIMEOUT_MS);
          const start = performance.now();
          await mem.rendezvous.signal(`r${i}`, VALUE);
          await waited;
          return performance.now() - start;
        },
      },
    ];
    const samples = await compare('rendezvous', sides);
    results.rendezvous = {
      ...report(sides, samples),
      bindingVsTwoSubscribers: ratio(summarize(samples.get('binding')!).p50, summarize(samples.get('rawTwoSubscribers')!).p50),
    };
  }

  // Bus: A asks B, B's handler echoes the payload.
  {
    b.bus.handle('bench.echo', (payload) => payload);
    mem.bus.handle('bench.echo', (payload) => payload);
    const requests = key('bus:request:b');
    const replies = key('bus:reply:a');
    subB.on('message', (channel: string, data: string) => channel === requests && void pubB.publish(replies, data).catch(() => undefined));
    await subB.subscribe(requests);
    const pending = new Map<number, () => void>();
    sub.on('message', (channel: string, data: string) => {
      if (channel !== replies) return;
      const { id } = JSON.parse(data) as { id: number };
      pending.get(id)?.();
      pending.delete(id);
    });
    await sub.subscribe(replies);
    const bId = b.cluster.instanceId;
    const memId = mem.cluster.instanceId;
    const sides: Side[] = [
      { label: 'binding', what: 'A.bus.request(B, echo) -> reply', op: timed(() => a.bus.request(bId, 'bench.echo', VALUE, DELIVERY_TIMEOUT_MS)) },
      {
        label: 'raw',
        what: 'PUBLISH {id, payload} -> B subscriber -> B PUBLISH back -> A subscriber, matched by id',
        op: timed(
          (i) =>
            new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error('raw bus: no reply')), DELIVERY_TIMEOUT_MS);
              pending.set(i, () => (clearTimeout(timer), resolve()));
              pub.publish(requests, JSON.stringify({ id: i, payload: VALUE })).catch(reject);
            }),
        ),
      },
      { label: 'memory', what: 'Bus.request to itself (memory)', op: timed(() => mem.bus.request(memId, 'bench.echo', VALUE, DELIVERY_TIMEOUT_MS)) },
    ];
    results['bus.request'] = report(sides, await compare('bus.request', sides));
  }

  // Cluster: the binding runs the LIVE script by its SHA; the raw command of the same kind is that script
  // by EVALSHA on the same keys. EVALSHA of "return 1" is shown as the floor of any script call.
  {
    const members = `${PREFIX}cluster:members`;
    const instancePrefix = `${PREFIX}cluster:instance:`;
    const liveSha = (await cmd.script('LOAD', LIVE)) as string;
    const floorSha = (await cmd.script('LOAD', 'return 1')) as string;
    const sides: Side[] = [
      { label: 'binding', what: 'Cluster.instances (Redis), 2 live instances', op: timed(() => a.cluster.instances()) },
      { label: 'raw', what: "EVALSHA of the binding's LIVE script, same keys", op: timed(() => cmd.evalsha(liveSha, 1, members, 10_000, instancePrefix)) },
      { label: 'rawFloor', what: 'EVALSHA of "return 1" (the floor of any script call)', op: timed(() => cmd.evalsha(floorSha, 0)) },
      { label: 'memory', what: 'Cluster.instances (memory)', op: timed(() => mem.cluster.instances()) },
    ];
    const samples = await compare('cluster.instances', sides);
    results['cluster.instances'] = {
      ...report(sides, samples),
      bindingVsFloor: ratio(summarize(samples.get('binding')!).p50, summarize(samples.get('rawFloor')!).p50),
    };
  }

  muted = true;
  const missed = Object.entries(results)
    .filter(([, result]) => !(result as { goalMet: boolean }).goalMet)
    .map(([name]) => name);
  return {
    bench: 'sync',
    description:
      'Sequential latency of each sync primitive on the Redis binding (two instances A and B in this process) beside the raw ioredis ' +
      'command(s) it boils down to, on clients with the same fail-fast options, and on the memory binding. Microseconds; ratio = binding / raw.',
    unit: 'µs',
    ops: OPS,
    warmup: WARMUP,
    batch: BATCH,
    goal: `binding p50 <= ${GOAL} x raw p50`,
    allGoalsMet: missed.length === 0,
    missed,
    primitives: results,
    redis: { url: shownUrl(REDIS_URL), version: redisVersion, keyPrefix: PREFIX },
    machine: machine(),
  };
}

runMain(main);
