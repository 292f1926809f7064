import { SyncBindings } from '@wafleet/sync';
import { Peers, primitivesContract } from '../../libs/sync/test/primitives.contract';
import { startRedisReplicas } from '../../libs/sync/test/sync-options';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

describe('redis binding, two instances on one real Redis', () => {
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    await requireRedis();
    instances.push(...(await startRedisReplicas(['replica-a', 'replica-b'], { redisUrl: TEST_REDIS_URL, keyPrefix: uniquePrefix('contract') })));
  });
  afterAll(() => Promise.all(instances.map((bindings) => bindings.stop())));

  primitivesContract('redis', (): Peers => ({ a: instances[0]!, b: instances[1]! }));
});
