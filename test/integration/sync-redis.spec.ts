import { Registry } from 'prom-client';
import { SyncBindings } from '@wafleet/sync';
import { Peers, primitivesContract } from '../../libs/sync/test/primitives.contract';
import { syncOptions } from '../../libs/sync/test/sync-options';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

describe('redis binding, two instances on one real Redis', () => {
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    await requireRedis();
    const keyPrefix = uniquePrefix('contract');
    for (const instanceId of ['replica-a', 'replica-b']) {
      const bindings = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId, redisUrl: TEST_REDIS_URL, keyPrefix }), new Registry());
      await bindings.start();
      instances.push(bindings);
    }
  });
  afterAll(() => Promise.all(instances.map((bindings) => bindings.stop())));

  primitivesContract('redis', (): Peers => ({ a: instances[0]!, b: instances[1]! }));
});
