import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { newTenant, pairedSession, planFor, until, usageToday, type TestTenant } from '../support/billing';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { ADMIN_KEY, DATABASE_KINDS } from '../support/topology';

const WINDOW_MS = 3000;
const PHONE = '5511988881001';
const FRIEND = '5511977771002';
const secondsToUtcMidnight = () => {
  const now = new Date();
  return (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
};

/**
 * Plans on one process (SYNC_BACKEND=memory), on both databases: admin CRUD, the request limit with its
 * headers, max sessions, the daily message quota against wa-sim, and the usage figures that follow.
 */
describe.each(DATABASE_KINDS)('billing on the %s database, one process', (kind) => {
  let sim: WaSimServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  const url = (path: string) => `${server.url}${path}`;
  const admin = (method: string, path: string, body?: unknown) => call(url(path), { method, key: ADMIN_KEY, body });

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir(`billing-${kind}`);
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    server = await startServer({
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      // Every quota take reads the plan afresh, as after a cache expiry: a send with a key takes its unit
      // inside its transaction, and on the embedded database a plan read there would wait forever for the
      // one connection that transaction holds.
      PLAN_CACHE_TTL_MS: '0',
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('plans: admin CRUD, 400 naming the field, 409 for a taken name or a plan in use, 403 for a tenant key', async () => {
    const tenant = await newTenant(server.url, `crud-${kind}`);
    expect(await admin('POST', '/plans', { name: 'bad', requestsPerMinute: -1, messagesPerDay: 1.5, maxSessions: '3' })).toMatchObject({
      status: 400,
      body: { error: { code: 'validation_failed', details: expect.arrayContaining([expect.objectContaining({ field: 'requestsPerMinute' }), expect.objectContaining({ field: 'messagesPerDay' }), expect.objectContaining({ field: 'maxSessions' })]) } },
    });
    expect((await admin('POST', '/plans', { requestsPerMinute: 5 })).body.error.details).toEqual([expect.objectContaining({ field: 'name' })]);
    expect((await admin('POST', '/plans', { name: 'x', colour: 'red' })).body.error.details).toEqual([expect.objectContaining({ field: 'colour' })]);
    expect(await call(url('/plans'), { method: 'POST', key: tenant.key, body: { name: 'mine' } })).toMatchObject({ status: 403, body: { error: { code: 'admin_only' } } });

    const created = await admin('POST', '/plans', { name: 'starter', requestsPerMinute: 60, messagesPerDay: 1000 });
    expect(created).toMatchObject({ status: 201, body: { name: 'starter', requestsPerMinute: 60, messagesPerDay: 1000, maxSessions: null, maxRunningCampaigns: null } });
    const id = created.body.id as string;
    expect(await admin('POST', '/plans', { name: 'starter' })).toMatchObject({ status: 409, body: { error: { code: 'plan_name_taken' } } });
    expect((await admin('GET', '/plans')).body.data.map((plan: { id: string }) => plan.id)).toContain(id);
    expect(await admin('GET', `/plans/${id}`)).toMatchObject({ status: 200, body: { id, name: 'starter' } });
    expect(await admin('PATCH', `/plans/${id}`, { messagesPerDay: null, maxSessions: 3 })).toMatchObject({
      status: 200,
      body: { id, requestsPerMinute: 60, messagesPerDay: null, maxSessions: 3 },
    });
    expect((await admin('PATCH', `/plans/${id}`, { maxSessions: -2 })).body.error.details).toEqual([expect.objectContaining({ field: 'maxSessions' })]);
    expect(await admin('GET', '/plans/not-a-plan')).toMatchObject({ status: 404, body: { error: { code: 'plan_not_found' } } });

    expect((await admin('PUT', `/tenants/${tenant.id}/plan`, { planId: 'nope' })).body.error.details).toEqual([expect.objectContaining({ field: 'planId' })]);
    expect((await admin('PUT', `/tenants/${tenant.id}/plan`, {})).body.error.details).toEqual([expect.objectContaining({ field: 'planId' })]);
    expect(await admin('PUT', `/tenants/${tenant.id}/plan`, { planId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ status: 404, body: { error: { code: 'plan_not_found' } } });
    expect(await admin('PUT', `/tenants/${tenant.id}/plan`, { planId: id })).toMatchObject({ status: 200, body: { tenantId: tenant.id, plan: { id } } });
    expect(await call(url(`/tenants/${tenant.id}/plan`), { key: tenant.key })).toMatchObject({ status: 200, body: { plan: { id, maxSessions: 3 } } });
    expect((await call(url(`/tenants/${tenant.id}/plan`), { method: 'PUT', key: tenant.key, body: { planId: null } })).status).toBe(403);

    expect(await admin('DELETE', `/plans/${id}`)).toMatchObject({ status: 409, body: { error: { code: 'plan_in_use', details: { tenants: 1 } } } });
    expect(await admin('PUT', `/tenants/${tenant.id}/plan`, { planId: null })).toMatchObject({ status: 200, body: { plan: null } });
    expect((await admin('DELETE', `/plans/${id}`)).status).toBe(204);
    expect((await admin('GET', `/plans/${id}`)).status).toBe(404);
  });

  it('5 requests per window: exactly 5 of 12 at once pass with RateLimit-* headers, the rest 429 with Retry-After; admin and health unlimited; the next window serves again; usage counts the 5 served', async () => {
    const tenant = await newTenant(server.url, `limited-${kind}`);
    const planId = await planFor(server.url, `five-${kind}`, { requestsPerMinute: 5 }, tenant);
    const answers = await Promise.all(Array.from({ length: 12 }, () => call(url('/sessions'), { key: tenant.key })));
    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect([served.length, refused.length]).toEqual([5, 7]);
    expect(served.map((answer) => answer.headers.get('ratelimit-remaining')).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const answer of answers) {
      expect(answer.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(answer.status === 200 ? 0 : 1);
      expect(Number(answer.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(WINDOW_MS / 1000);
    }
    for (const answer of refused) {
      expect(answer.body).toMatchObject({ error: { code: 'rate_limited', details: { limit: 'requestsPerMinute', value: 5 } } });
      expect(answer.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW_MS / 1000);
    }
    const adminCall = await admin('GET', '/tenants');
    expect(adminCall.status).toBe(200);
    expect(adminCall.headers.get('ratelimit-limit')).toBeNull();
    expect((await call(url('/health'))).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, Number(refused[0]!.headers.get('retry-after')) * 1000 + 100));
    const again = await call(url('/sessions'), { key: tenant.key });
    expect({ status: again.status, remaining: again.headers.get('ratelimit-remaining') }).toEqual({ status: 200, remaining: '4' });

    // A change made on this replica applies at once: no limit, no headers, no Redis call.
    await admin('PATCH', `/plans/${planId}`, { requestsPerMinute: null });
    const unlimited = await call(url('/sessions'), { key: tenant.key });
    expect({ status: unlimited.status, limit: unlimited.headers.get('ratelimit-limit') }).toEqual({ status: 200, limit: null });

    await until('the 7 served calls in usage', async () => (await usageToday(server.url, tenant.id)).apiCalls === 7 || undefined, 5000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await usageToday(server.url, tenant.id)).toEqual({ messagesSent: 0, messagesReceived: 0, apiCalls: 7 });
  });

  it('max sessions: of 4 creations at once on a plan of 2, exactly 2 succeed and the others are 403 plan_limit_reached; a deletion frees a slot', async () => {
    const tenant = await newTenant(server.url, `sessions-${kind}`);
    await planFor(server.url, `two-sessions-${kind}`, { maxSessions: 2 }, tenant);
    const answers = await Promise.all([1, 2, 3, 4].map((n) => call(url('/sessions'), { method: 'POST', key: tenant.key, body: { name: `s${n}` } })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 403, 403]);
    expect(answers.find((answer) => answer.status === 403)!.body).toMatchObject({ error: { code: 'plan_limit_reached', details: { limit: 'maxSessions', value: 2 } } });
    expect((await call(url('/sessions'), { key: tenant.key })).body.data).toHaveLength(2);
    const first = answers.find((answer) => answer.status === 201)!.body.id as string;
    expect((await call(url(`/sessions/${first}`), { method: 'DELETE', key: tenant.key })).status).toBe(204);
    expect((await call(url('/sessions'), { method: 'POST', key: tenant.key, body: { name: 's5' } })).status).toBe(201);
  });

  describe('with a session paired on wa-sim', () => {
    let tenant: TestTenant;
    beforeAll(async () => {
      tenant = await newTenant(server.url, `quota-${kind}`);
      await pairedSession(server.url, tenant.key, sim, 'phone', PHONE);
      await planFor(server.url, `three-a-day-${kind}`, { messagesPerDay: 3 }, tenant);
    }, 60_000);
    const send = (body: Record<string, unknown>, headers?: Record<string, string>) =>
      call(url('/sessions/phone/messages'), { method: 'POST', key: tenant.key, body: { to: FRIEND, ...body }, headers });

    it('the daily quota stops sends exactly at the limit: a 400 costs nothing, the 4th send is 429 quota_exceeded until UTC midnight, a replay costs nothing, also one racing the first', async () => {
      expect((await send({ kind: 'text' })).status).toBe(400);
      // Eight at once with one new key: one message and one unit; the others wait for the first and answer as its replays.
      const raced = await Promise.all(Array.from({ length: 8 }, () => send({ kind: 'text', text: 'raced' }, { 'Idempotency-Key': `race-${kind}` })));
      expect(new Set(raced.map((answer) => `${answer.status} ${answer.body.id}`)).size).toBe(1);
      expect(raced[0]!.status).toBe(202);
      const first = await send({ kind: 'text', text: 'one' }, { 'Idempotency-Key': `quota-${kind}` });
      expect(first.status).toBe(202);
      const rest = await Promise.all(['two', 'three', 'four', 'five', 'six'].map((text) => send({ kind: 'text', text })));
      expect(rest.map((answer) => answer.status).sort()).toEqual([202, 429, 429, 429, 429]);
      for (const answer of rest.filter((a) => a.status === 429)) {
        expect(answer.body).toMatchObject({ error: { code: 'quota_exceeded', details: { limit: 'messagesPerDay', value: 3 } } });
        expect(answer.headers.get('ratelimit-limit')).toBe('3');
        expect(answer.headers.get('ratelimit-remaining')).toBe('0');
        expect(Math.abs(Number(answer.headers.get('retry-after')) - secondsToUtcMidnight())).toBeLessThan(10);
      }
      const replay = await send({ kind: 'text', text: 'one' }, { 'Idempotency-Key': `quota-${kind}` });
      expect({ status: replay.status, id: replay.body.id }).toEqual({ status: 202, id: first.body.id });
      const texts = ['raced', 'one', 'two', 'three', 'four', 'five', 'six'];
      await until('3 messages at the recipient', () => sim.messagesTo(FRIEND).filter((m) => texts.includes(m.text ?? '')).length === 3 || undefined);
      expect(sim.messagesTo(FRIEND).filter((m) => m.text === 'one')).toHaveLength(1);
      expect(sim.messagesTo(FRIEND).filter((m) => m.text === 'raced')).toHaveLength(1);
    });

    it('usage: messages sent and received as stored, per UTC day; the tenant reads its own, another tenant gets 404, bad dates a 400 naming the field', async () => {
      await sim.deliverMessage(PHONE, { from: FRIEND, text: 'hello 1' });
      await sim.deliverMessage(PHONE, { from: FRIEND, text: 'hello 2' });
      let last: unknown;
      const usage = await until('the usage figures', async () => {
        const now = await usageToday(server.url, tenant.id);
        last = now;
        return now.messagesSent === 3 && now.messagesReceived === 2 ? now : undefined;
      }).catch((error: Error) => Promise.reject(new Error(`${error.message}; last seen ${JSON.stringify(last)}`)));
      expect(usage.apiCalls).toBeGreaterThan(0);

      const today = new Date().toISOString().slice(0, 10);
      const own = await call(url(`/tenants/${tenant.id}/usage`), { key: tenant.key });
      expect(own.status).toBe(200);
      expect(own.body.days).toHaveLength(30);
      expect(own.body.days[29]).toMatchObject({ day: today, messagesSent: 3, messagesReceived: 2 });
      expect(own.body.days[0]).toEqual({ day: own.body.from, messagesSent: 0, messagesReceived: 0, apiCalls: 0 });
      const other = await newTenant(server.url, `other-${kind}`);
      expect(await call(url(`/tenants/${tenant.id}/usage`), { key: other.key })).toMatchObject({ status: 404, body: { error: { code: 'tenant_not_found' } } });
      const field = async (query: string) => (await call(url(`/tenants/${tenant.id}/usage?${query}`), { key: tenant.key })).body.error?.details?.[0]?.field;
      expect(await field('from=2026-02-30&to=2026-03-02')).toBe('from');
      expect(await field('to=yesterday')).toBe('to');
      expect(await field('from=2026-11-10&to=2026-11-01')).toBe('from');
      expect(await field('from=2024-01-01&to=2026-01-01')).toBe('from');
      expect(await field('from=2026-11-01&to=2026-11-30&page=2')).toBe('page');
    });
  });
});
