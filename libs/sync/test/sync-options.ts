import { Registry } from 'prom-client';
import { SyncBindings, type SyncModuleOptions } from '@wafleet/sync';

/** Options for tests: short heartbeats and a small bus payload limit, so expiry and limits are quick to show. */
export const syncOptions = (overrides: Partial<SyncModuleOptions> & Pick<SyncModuleOptions, 'backend' | 'instanceId'>): SyncModuleOptions => ({
  version: '0.0.0-test',
  redisUrl: 'redis://127.0.0.1:6379',
  keyPrefix: 'wafleet-test:',
  sentinelName: 'mymaster',
  commandTimeoutMs: 1000,
  heartbeatIntervalMs: 200,
  heartbeatTimeoutMs: 1000,
  busMaxPayloadBytes: 64 * 1024,
  rendezvousTtlMs: 5000,
  ...overrides,
});

/** Started Redis-bound instances sharing one key prefix, as the replicas of one deployment would. */
export async function startRedisReplicas(
  instanceIds: string[],
  overrides: Partial<SyncModuleOptions> & Pick<SyncModuleOptions, 'redisUrl' | 'keyPrefix'>,
): Promise<SyncBindings[]> {
  const replicas: SyncBindings[] = [];
  for (const instanceId of instanceIds) {
    const bindings = await SyncBindings.create(syncOptions({ backend: 'redis', instanceId, ...overrides }), new Registry());
    await bindings.start();
    replicas.push(bindings);
  }
  return replicas;
}
