import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { BusTimeoutError, BusUnknownInstanceError, SyncBindings, SyncUnavailableError } from '@wafleet/sync';
import { eventually } from '../../libs/sync/test/primitives.contract';
import { syncOptions } from '../../libs/sync/test/sync-options';
import { PrivateRedis, requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

const BUILT_SYNC = 'dist/libs/sync/src/index.js';

describe('a replica that dies without leaving', () => {
  let a: SyncBindings;
  beforeAll(async () => {
    await requireRedis();
    expect(existsSync(BUILT_SYNC)).toBe(true); // npm test builds first
  });
  afterAll(() => a?.stop());

  it('is listed while it beats, then dropped within HEARTBEAT_TIMEOUT_MS of its last beat', async () => {
    const keyPrefix = uniquePrefix('crash');
    a = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId: 'survivor', redisUrl: TEST_REDIS_URL, keyPrefix }), new Registry());
    await a.start();
    const script = `
      const { SyncBindings } = require('./${BUILT_SYNC}');
      const { Registry } = require('prom-client');
      SyncBindings.create(${JSON.stringify(syncOptions({ backend: 'redis', instanceId: 'doomed', redisUrl: TEST_REDIS_URL, keyPrefix }))}, new Registry())
        .then(async (b) => { b.bus.handle('ping', () => 'pong'); await b.start(); process.stdout.write('ready\\n'); });`;
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    await new Promise<void>((done) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && done()));

    await eventually(async () => expect((await a.cluster.instances()).map((i) => i.id)).toEqual(['doomed', 'survivor']));
    await expect(a.bus.request('doomed', 'ping', {}, 2000)).resolves.toBe('pong');

    const killedAt = Date.now();
    process.kill(-child.pid!, 'SIGKILL');
    // Until its heartbeat expires a request can only time out; after, the instance is unknown.
    await expect(a.bus.request('doomed', 'ping', {}, 200)).rejects.toBeInstanceOf(BusTimeoutError);
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
    const keyPrefix = uniquePrefix('outage');
    for (const instanceId of ['outage-a', 'outage-b']) {
      const bindings = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId, redisUrl: redis.url, keyPrefix, commandTimeoutMs: 500 }), new Registry());
      await bindings.start();
      instances.push(bindings);
    }
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

    await redis.kill();
    await eventually(() => expect(a.status().up).toBe(false), 2000);
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
