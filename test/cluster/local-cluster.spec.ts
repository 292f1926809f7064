import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { databaseExists } from '../../tools/cluster/backing-services';
import { LocalCluster } from '../../tools/cluster/local-cluster';
import { requirePostgres, TEST_DATABASE_URL } from '../support/postgres';
import { requireRedis, TEST_REDIS_URL } from '../support/redis';

async function health(url: string): Promise<{ httpStatus: number; instanceId?: string }> {
  const response = await fetch(`${url}/health`);
  return { httpStatus: response.status, instanceId: ((await response.json()) as { instanceId?: string }).instanceId };
}

/** pids of every live process whose process group is one of `groups` (nginx's workers included). */
function liveInGroups(groups: number[]): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
        return state !== 'Z' && groups.includes(Number(pgrp));
      } catch {
        return false; // gone while we looked
      }
    })
    .map(Number);
}

describe('LocalCluster: wa-sim, two replicas and nginx on loopback', () => {
  let cluster: LocalCluster;
  let groups: number[];

  beforeAll(async () => {
    await requirePostgres();
    await requireRedis();
    cluster = await LocalCluster.start({ replicas: 2, postgresAdminUrl: TEST_DATABASE_URL, redisUrl: TEST_REDIS_URL });
    groups = cluster.pids;
  }, 90_000);

  afterAll(() => cluster?.stop(), 30_000);

  it('spreads requests over both replicas (no sticky routing)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10 && seen.size < 2; i++) seen.add((await health(cluster.url)).instanceId!);
    expect([...seen].sort()).toEqual(['replica-0', 'replica-1']);
    expect(groups).toHaveLength(4); // wa-sim, two replicas, nginx
    expect(await cluster.simStats()).toMatchObject({ live: 0 });
  });

  it('accepts the admin key through nginx', async () => {
    const response = await fetch(`${cluster.url}/tenants`, {
      method: 'POST',
      headers: { 'x-api-key': cluster.adminApiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cluster-test' }),
    });
    expect(response.status).toBe(201);
  });

  it('keeps answering through nginx after replica 0 is killed with SIGKILL', async () => {
    expect(await cluster.replica(0).kill()).toBe(137);
    const answers = await Promise.all(Array.from({ length: 10 }, () => health(cluster.url)));
    expect(answers).toEqual(Array.from({ length: 10 }, () => ({ httpStatus: 200, instanceId: 'replica-1' })));
  });

  it('stop() leaves no process, database or Redis key behind', async () => {
    const database = cluster.databaseName!;
    expect(await databaseExists(TEST_DATABASE_URL, database)).toBe(true);
    await cluster.stop();
    expect(liveInGroups(groups)).toEqual([]);
    expect(await databaseExists(TEST_DATABASE_URL, database)).toBe(false);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`${cluster.redisKeyPrefix}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
