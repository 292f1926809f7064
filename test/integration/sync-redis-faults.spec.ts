import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { BusUnknownInstanceError, SyncBindings, SyncUnavailableError } from '@wafleet/sync';
import { eventually } from '../../libs/sync/test/primitives.contract';
import { startRedisReplicas, syncOptions } from '../../libs/sync/test/sync-options';
import { PrivateRedis, requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const BUILT_SYNC = 'dist/libs/sync/src/index.js';

describe('a replica that dies without leaving', () => {
  let a: SyncBindings;
  beforeAll(async () => {
    await requireRedis();
    expect(existsSync(BUILT_SYNC)).toBe(true); // npm test builds first
  });
  afterAll(() => a?.stop());
  let child: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    if (child?.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  });

  it('is listed while it beats, then dropped within HEARTBEAT_TIMEOUT_MS of its last beat', async () => {
    const keyPrefix = uniquePrefix('crash');
    a = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId: 'survivor', redisUrl: TEST_REDIS_URL, keyPrefix }), new Registry());
    await a.start();
    const script = `
      const { SyncBindings } = require('./${BUILT_SYNC}');
      const { Registry } = require('prom-client');
      SyncBindings.create(${JSON.stringify(syncOptions({ backend: 'redis', instanceId: 'doomed', redisUrl: TEST_REDIS_URL, keyPrefix }))}, new Registry())
        .then(async (b) => { b.bus.handle('ping', () => 'pong'); await b.start(); process.stdout.write('ready\\n'); });`;
    child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    await new Promise<void>((done) => child!.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && done()));

    await eventually(async () => expect((await a.cluster.instances()).map((i) => i.id)).toEqual(['doomed', 'survivor']));
    await expect(a.bus.request('doomed', 'ping', {}, 2000)).resolves.toBe('pong');

    const killedAt = Date.now();
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((done) => child!.once('exit', done)); // its sockets are closed once it is gone
    // Still listed until its heartbeat expires, but nobody receives the request: refused at once, no timeout.
    const askedAt = Date.now();
    await expect(a.bus.request('doomed', 'ping', {}, 5000)).rejects.toBeInstanceOf(BusUnknownInstanceError);
    expect(Date.now() - askedAt).toBeLessThan(1000);
    await eventually(async () => expect((await a.cluster.instances()).map((i) => i.id)).toEqual(['survivor']), 5000);
    expect(Date.now() - killedAt).toBeLessThan(1000 + 1000); // timeout 1 s, plus one poll of slack
    await expect(a.bus.request('doomed', 'ping', {}, 200)).rejects.toBeInstanceOf(BusUnknownInstanceError);
  }, 30_000);
});

describe('Redis going away and coming back', () => {
  let redis: PrivateRedis;
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    instances.push(...(await startRedisReplicas(['outage-a', 'outage-b'], { redisUrl: redis.url, keyPrefix: uniquePrefix('outage'), commandTimeoutMs: 500 })));
  });
  afterAll(async () => {
    await Promise.all(instances.map((bindings) => bindings.stop()));
    await redis.kill();
  });

  it('fails fast with a typed error, keeps local delivery, and recovers by itself', async () => {
    const [a, b] = instances as [SyncBindings, SyncBindings];
    const channel = 'outage';
    const onA: unknown[] = [];
    const onB: unknown[] = [];
    await a.pubsub.subscribe(channel, (message) => onA.push(message));
    await b.pubsub.subscribe(channel, (message) => onB.push(message));
    b.bus.handle('ping', () => 'pong');
    await a.pubsub.publish(channel, 'before');
    await eventually(() => expect(onB).toEqual(['before']));
    expect(a.status()).toEqual({ backend: 'redis', up: true });

    // Traffic keeps flowing through the kill: every failure must be the typed one, and nothing may hang.
    const failures: unknown[] = [];
    let traffic = true;
    const load = (async () => {
      for (let i = 0; traffic; i++) {
        await Promise.all([a.counters.take(`load-${i % 7}`, 1000, 60_000), b.cache.set(`load-${i}`, i, 60_000), a.pubsub.publish('load', i)]).catch((error) =>
          failures.push(error),
        );
        await new Promise((done) => setTimeout(done, 5));
      }
    })();
    await new Promise((done) => setTimeout(done, 100));
    await redis.kill();
    await eventually(() => expect(a.status().up).toBe(false), 2000);
    await new Promise((done) => setTimeout(done, 300));
    traffic = false;
    await load;
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure).toBeInstanceOf(SyncUnavailableError);
    for (const call of [() => a.lock.acquire('k', 1000), () => a.counters.take('k', 1, 1000), () => a.cache.get('k'), () => a.rendezvous.signal('k', 1)]) {
      const started = Date.now();
      await expect(call()).rejects.toBeInstanceOf(SyncUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
    }
    await expect(a.bus.request('outage-b', 'ping', {}, 1000)).rejects.toBeInstanceOf(SyncUnavailableError);
    // Local subscribers are still served; only the remote leg fails.
    await expect(a.pubsub.publish(channel, 'during')).rejects.toBeInstanceOf(SyncUnavailableError);
    expect(onA).toEqual(['before', 'during']);
    expect(onB).toEqual(['before']);

    await redis.restart();
    await eventually(() => expect(a.status().up && b.status().up).toBe(true), 10_000);
    await eventually(async () => {
      await a.pubsub.publish(channel, 'after');
      expect(onB).toContain('after');
    }, 10_000);
    await eventually(async () => expect(await a.bus.request('outage-b', 'ping', {}, 500)).toBe('pong'), 10_000);
    expect(await a.lock.acquire('after-outage', 1000)).toEqual(expect.any(String));
  }, 60_000);
});

describe('a Redis that hangs (SIGSTOP) instead of dying', () => {
  let redis: PrivateRedis;
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    instances.push(...(await startRedisReplicas(['hang-a', 'hang-b'], { redisUrl: redis.url, keyPrefix: uniquePrefix('hang'), commandTimeoutMs: 300 })));
  });
  afterAll(async () => {
    redis.resume();
    await Promise.all(instances.map((bindings) => bindings.stop()));
    await redis.kill();
  });

  it('is noticed within a heartbeat and the command timeout, and recovers when it answers again', async () => {
    const [a, b] = instances as [SyncBindings, SyncBindings];
    const onB: unknown[] = [];
    await b.pubsub.subscribe('hang', (message) => onB.push(message));
    redis.pause();
    await eventually(() => expect([a.status().up, b.status().up]).toEqual([false, false]), 3000);
    const started = Date.now();
    await expect(a.cache.get('k')).rejects.toBeInstanceOf(SyncUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);

    redis.resume();
    await eventually(() => expect([a.status().up, b.status().up]).toEqual([true, true]), 10_000);
    await eventually(async () => {
      await a.pubsub.publish('hang', 'back');
      expect(onB).toContain('back');
    }, 10_000);
  }, 30_000);
});

describe('a message this version cannot read', () => {
  const instances: SyncBindings[] = [];
  let keyPrefix: string;
  beforeAll(async () => {
    await requireRedis();
    keyPrefix = uniquePrefix('garbage');
    instances.push(...(await startRedisReplicas(['reader-a', 'reader-b'], { redisUrl: TEST_REDIS_URL, keyPrefix })));
  });
  afterAll(() => Promise.all(instances.map((bindings) => bindings.stop())));

  it('is dropped without taking the process down, and the next good one is delivered', async () => {
    const [a, b] = instances as [SyncBindings, SyncBindings];
    const got: unknown[] = [];
    await b.pubsub.subscribe('mixed', (message) => got.push(message));
    b.bus.handle('ping', () => 'pong');
    const { Redis } = await import('ioredis');
    const raw = new Redis(TEST_REDIS_URL);
    try {
      for (const channel of ['ps:mixed', 'ps:__rendezvous', 'ps:__bus:request:reader-b', 'ps:__bus:reply:reader-a']) {
        await raw.publish(`${keyPrefix}${channel}`, 'not json');
        await raw.publish(`${keyPrefix}${channel}`, '{"o":"x","m":null}');
        await raw.publish(`${keyPrefix}${channel}`, '{"o":"x","m":{"id":5}}');
      }
    } finally {
      raw.disconnect();
    }
    await a.pubsub.publish('mixed', 'good');
    await eventually(() => expect(got).toEqual([null, { id: 5 }, 'good']));
    expect(await a.bus.request('reader-b', 'ping', {}, 2000)).toBe('pong');
  });
});
