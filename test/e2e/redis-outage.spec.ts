import { eventually } from '../../libs/sync/test/primitives.contract';
import { call } from '../support/http';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { PrivateRedis } from '../support/redis';
import { removeDir, ServerProcess, startServer, tempDir } from '../support/server';
import { ADMIN_KEY, METRICS_KEY } from '../support/topology';

describe('the server while its Redis goes away and comes back', () => {
  let redis: PrivateRedis;
  let database: TestDatabase;
  let server: ServerProcess;
  const dataDir = tempDir('redis-outage');
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    database = await createTestDatabase();
    server = await startServer({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SYNC_BACKEND: 'redis',
      REDIS_URL: redis.url,
      ADMIN_API_KEY: ADMIN_KEY,
      METRICS_API_KEY: METRICS_KEY,
      HEARTBEAT_INTERVAL_MS: '200',
      HEARTBEAT_TIMEOUT_MS: '1000',
    });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await redis?.kill();
    await database?.drop();
    removeDir(dataDir);
  });

  const ready = () => call(`${server.url}/health/ready`);
  const metrics = async () => (await call(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_KEY}` } })).body as string;

  it('stays up and ready, reports degraded, and recovers without a restart', async () => {
    expect(await ready()).toMatchObject({ status: 200, body: { status: 'ok', sync: { backend: 'redis', up: true } } });
    expect(await metrics()).toMatch(/^sync_degraded\{[^}]*\} 0$/m);
    expect(await metrics()).toMatch(/^sync_operation_duration_seconds_count\{(?=[^}]*primitive="cluster")(?=[^}]*op="heartbeat")[^}]*\} [1-9]\d*$/m);

    await redis.kill();
    await eventually(async () => expect(await ready()).toMatchObject({ status: 200, body: { status: 'degraded', sync: { up: false } } }), 5000);
    expect(await metrics()).toMatch(/^sync_degraded\{[^}]*\} 1$/m);
    await eventually(async () => expect(await metrics()).toMatch(/^sync_operation_failures_total\{primitive="cluster",op="heartbeat"[^}]*\} [1-9]\d*$/m));
    expect((await call(`${server.url}/tenants`, { key: ADMIN_KEY })).status).toBe(200);

    await redis.restart();
    await eventually(async () => expect(await ready()).toMatchObject({ status: 200, body: { status: 'ok', sync: { up: true } } }), 10_000);
    expect(await metrics()).toMatch(/^sync_degraded\{[^}]*\} 0$/m);
    expect(server.stdout()).toContain('Redis is unreachable');
    expect(server.stdout()).toContain('Redis is reachable');
  }, 60_000);
});
