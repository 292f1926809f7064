import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { SyncBindings } from '@wafleet/sync';
import { syncOptions } from '../../libs/sync/test/sync-options';
import { PrivateRedis } from '../support/redis';

const PASSWORD = 'sync-test-secret';

describe('Redis connection settings', () => {
  const servers: PrivateRedis[] = [];
  afterAll(() => Promise.all(servers.map((server) => server.kill())));

  it('takes password and db from REDIS_URL, prefixes keys and channels, and closes its three connections on stop', async () => {
    const redis = await PrivateRedis.start(['--requirepass', PASSWORD]);
    servers.push(redis);
    const raw = new Redis(`${redis.url}/3`);
    try {
      const bindings = await SyncBindings.create(
        syncOptions({ backend: 'redis', instanceId: 'settings', redisUrl: `${redis.url}/3`, keyPrefix: 'tenant-x:' }),
        new Registry(),
      );
      await bindings.start();
      await bindings.cache.set('plan', 'pro', 5000);
      expect(await raw.get('tenant-x:cache:plan')).toBe('"pro"');
      expect(await raw.pubsub('CHANNELS', 'tenant-x:*')).toEqual(expect.arrayContaining(['tenant-x:ps:__bus:request:settings']));
      const names = () => raw.client('LIST').then((list) => String(list).match(/name=settings:\w+/g)?.sort() ?? []);
      expect(await names()).toEqual(['name=settings:command', 'name=settings:publish', 'name=settings:subscribe']);
      await bindings.stop();
      expect(await names()).toEqual([]);
    } finally {
      raw.disconnect();
    }
    const wrong = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId: 'wrong', redisUrl: redis.url.replace(PASSWORD, 'nope') }), new Registry());
    expect(wrong.status().up).toBe(false);
    await expect(wrong.cache.get('plan')).rejects.toMatchObject({ code: 'sync_unavailable' });
    await wrong.stop();
  }, 30_000);

  it('finds the master through REDIS_SENTINELS', async () => {
    const master = await PrivateRedis.start();
    servers.push(master);
    const config = join(mkdtempSync(join(tmpdir(), 'wafleet-sentinel-')), 'sentinel.conf');
    writeFileSync(config, `sentinel monitor wafleet-master 127.0.0.1 ${master.port} 1\n`);
    const sentinel = await PrivateRedis.start([config, '--sentinel']);
    servers.push(sentinel);

    const bindings = await SyncBindings.create(
      syncOptions({ backend: 'redis', instanceId: 'via-sentinel', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], sentinelName: 'wafleet-master' }),
      new Registry(),
    );
    try {
      await bindings.cache.set('found', 'master', 5000);
      const raw = new Redis(master.url);
      expect(await raw.get('wafleet-test:cache:found')).toBe('"master"');
      raw.disconnect();
    } finally {
      await bindings.stop();
    }
  }, 30_000);
});
