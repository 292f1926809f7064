import { SyncBindings } from '@wafleet/sync';
import { Peers, primitivesContract } from '../../libs/sync/test/primitives.contract';
import { startRedisReplicas } from '../../libs/sync/test/sync-options';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

describe('redis binding, two instances on one real Redis', () => {
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    await requireRedis();
    // The contract is about what the primitives answer, not how fast: a machine that stalls a second under
    // load must not turn a slow answer into sync_unavailable (the fault specs cover the timeouts).
    instances.push(...(await startRedisReplicas(['replica-a', 'replica-b'], { redisUrl: TEST_REDIS_URL, keyPrefix: uniquePrefix('contract'), commandTimeoutMs: 5_000 })));
  });
  afterAll(() => Promise.all(instances.map((bindings) => bindings.stop())));

  primitivesContract('redis', (): Peers => ({ a: instances[0]!, b: instances[1]! }));
});

describe('redis binding, a reported change between heartbeats', () => {
  const instances: SyncBindings[] = [];
  beforeAll(async () => {
    await requireRedis();
    // Beats a minute apart: anything a peer sees within the test was sent because the value changed.
    const options = { redisUrl: TEST_REDIS_URL, keyPrefix: uniquePrefix('report'), heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 120_000 };
    instances.push(...(await startRedisReplicas(['replica-a', 'replica-b'], options)));
  });
  afterAll(() => Promise.all(instances.map((bindings) => bindings.stop())));

  it('reaches peers at once, not at the next beat, so no session is placed on a replica that began draining', async () => {
    const [a, b] = instances as [SyncBindings, SyncBindings];
    const draining = async () => (await a.cluster.instances()).find((instance) => instance.id === 'replica-b')?.reports.draining;
    expect(await draining()).toBeUndefined();
    b.cluster.report('draining', true);
    const deadline = Date.now() + 5_000;
    while ((await draining()) !== true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await draining()).toBe(true);
  });
});
