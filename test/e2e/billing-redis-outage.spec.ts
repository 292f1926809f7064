import { eventually } from '../../libs/sync/test/primitives.contract';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { newTenant, pairedSession, planFor, type TestTenant } from '../support/billing';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { PrivateRedis } from '../support/redis';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { ADMIN_KEY, METRICS_KEY } from '../support/topology';

const PHONE = '5511988883001';
const FRIEND = '5511977773002';

/**
 * What docs/billing.md promises while Redis is down: the request limit fails open (served, without
 * RateLimit-* headers, counted in a metric), the daily message quota fails closed (503 quota_unavailable
 * with Retry-After, nothing stored or sent); both work again once Redis is back, without a restart.
 */
describe('billing limits while Redis is down', () => {
  let sim: WaSimServer;
  let redis: PrivateRedis;
  let database: TestDatabase;
  let server: ServerProcess;
  let tenant: TestTenant;
  const dataDir = tempDir('billing-outage');
  const url = (path: string) => `${server.url}${path}`;
  const send = (text: string) => call(url('/sessions/phone/messages'), { method: 'POST', key: tenant.key, body: { to: FRIEND, kind: 'text', text } });
  const metrics = async () => (await call(url('/metrics'), { headers: { authorization: `Bearer ${METRICS_KEY}` } })).body as string;

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    redis = await PrivateRedis.start();
    database = await createTestDatabase();
    server = await startServer({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SYNC_BACKEND: 'redis',
      REDIS_URL: redis.url,
      ADMIN_API_KEY: ADMIN_KEY,
      METRICS_API_KEY: METRICS_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
    });
    tenant = await newTenant(server.url, 'outage');
    await pairedSession(server.url, tenant.key, sim, 'phone', PHONE);
    await planFor(server.url, 'outage', { requestsPerMinute: 1000, messagesPerDay: 100 }, tenant);
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await redis?.kill();
    await sim?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('serves requests unlimited and refuses sends with 503 while Redis is down, and limits again once it is back', async () => {
    const before = await send('before');
    expect(before.status).toBe(202);
    expect(before.headers.get('ratelimit-limit')).toBe('1000');

    await redis.kill();
    const listed = await call(url('/sessions'), { key: tenant.key });
    expect({ status: listed.status, limit: listed.headers.get('ratelimit-limit') }).toEqual({ status: 200, limit: null });
    const refused = await send('during');
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'quota_unavailable' } } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const [stored] = await database.query(`SELECT count(*)::int AS n FROM messages WHERE body = 'during'`);
    expect(stored!.n).toBe(0);
    const scraped = await metrics();
    expect(scraped).toMatch(/^wafleet_limiter_unavailable_total\{(?=[^}]*kind="requests")(?=[^}]*outcome="allowed")[^}]*\} [1-9]\d*$/m);
    expect(scraped).toMatch(/^wafleet_limiter_unavailable_total\{(?=[^}]*kind="messages")(?=[^}]*outcome="refused")[^}]*\} [1-9]\d*$/m);
    expect(server.stdout()).toContain('the requests limit cannot reach Redis');
    expect(server.stdout()).toContain('the messages limit cannot reach Redis');

    await redis.restart();
    await eventually(async () => expect((await send('after')).status).toBe(202), 10_000);
    expect((await call(url('/sessions'), { key: tenant.key })).headers.get('ratelimit-limit')).toBe('1000');
  }, 60_000);
});
