import { newTenant, pairedSession, planFor, until, usageToday } from '../support/billing';
import { call, type Answer } from '../support/http';
import { ReplicaSet } from '../support/replicas';
import { ADMIN_KEY } from '../support/topology';

const WINDOW_MS = 4000;
const PHONE = '5511988882001';
const FRIEND = '5511977772002';

/**
 * Two replicas on one PostgreSQL and one Redis: each limit holds once for the deployment, not once per
 * replica — the request limit, the daily message quota and max sessions — and usage adds up across them.
 */
describe('billing limits across two replicas (Redis)', () => {
  let replicas: ReplicaSet;
  const urlOf = (name: string) => replicas.get(name).url;
  /** `count` calls at once, alternating between the replicas. */
  const spread = (count: number, path: string, key: string, options: { method?: string; body?: (i: number) => unknown } = {}) =>
    Promise.all(Array.from({ length: count }, (_, i) => call(`${urlOf(i % 2 ? 'b' : 'a')}${path}`, { key, method: options.method, body: options.body?.(i) })));
  const statuses = (answers: Answer[]) => answers.reduce<Record<number, number>>((tally, a) => ({ ...tally, [a.status]: (tally[a.status] ?? 0) + 1 }), {});

  beforeAll(async () => {
    replicas = await ReplicaSet.open('billing', { RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
    await Promise.all([replicas.boot('a'), replicas.boot('b')]);
  }, 90_000);
  afterAll(() => replicas?.close(), 60_000);

  it('5 requests per window, 30 at once over both replicas: exactly 5 served, in this window and the next; usage counts the 5 + 5', async () => {
    const tenant = await newTenant(urlOf('a'), 'spread');
    await planFor(urlOf('a'), 'five', { requestsPerMinute: 5 }, tenant);
    const first = await spread(30, '/sessions', tenant.key);
    expect(statuses(first)).toEqual({ 200: 5, 429: 25 });
    const servedBy = new Set(first.filter((a) => a.status === 200).map((a) => a.headers.get('ratelimit-remaining')));
    expect([...servedBy].sort()).toEqual(['0', '1', '2', '3', '4']);
    const wait = Math.max(...first.filter((a) => a.status === 429).map((a) => Number(a.headers.get('retry-after'))));
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 200));
    expect(statuses(await spread(20, '/sessions', tenant.key))).toEqual({ 200: 5, 429: 15 });
    await until('10 served calls in usage', async () => (await usageToday(urlOf('b'), tenant.id)).apiCalls === 10 || undefined, 5000);
  });

  it('a plan change made through one replica applies on the other within PLAN_CACHE_TTL_MS', async () => {
    const tenant = await newTenant(urlOf('a'), 'changing');
    const planId = await planFor(urlOf('a'), 'changing', { requestsPerMinute: 1000 }, tenant);
    expect((await call(`${urlOf('b')}/sessions`, { key: tenant.key })).headers.get('ratelimit-limit')).toBe('1000');
    const changedAt = Date.now();
    await call(`${urlOf('a')}/plans/${planId}`, { method: 'PATCH', key: ADMIN_KEY, body: { requestsPerMinute: 2000 } });
    await until('b uses the new limit', async () => (await call(`${urlOf('b')}/sessions`, { key: tenant.key })).headers.get('ratelimit-limit') === '2000' || undefined, 3000);
    expect(Date.now() - changedAt).toBeLessThan(2000);
  });

  it('max sessions 3, 8 creations at once over both replicas: exactly 3 created', async () => {
    const tenant = await newTenant(urlOf('a'), 'sessions');
    await planFor(urlOf('a'), 'three-sessions', { maxSessions: 3 }, tenant);
    const answers = await spread(8, '/sessions', tenant.key, { method: 'POST', body: (i) => ({ name: `s${i}` }) });
    expect(statuses(answers)).toEqual({ 201: 3, 403: 5 });
    expect((await call(`${urlOf('b')}/sessions`, { key: tenant.key })).body.data).toHaveLength(3);
  });

  it('4 messages a day, 10 sends at once over both replicas: exactly 4 accepted and sent; usage says 4 sent', async () => {
    const tenant = await newTenant(urlOf('a'), 'quota');
    await pairedSession(urlOf('a'), tenant.key, replicas.sim, 'phone', PHONE);
    await planFor(urlOf('a'), 'four-a-day', { messagesPerDay: 4 }, tenant);
    const answers = await spread(10, '/sessions/phone/messages', tenant.key, { method: 'POST', body: (i) => ({ to: FRIEND, kind: 'text', text: `m${i}` }) });
    expect(statuses(answers)).toEqual({ 202: 4, 429: 6 });
    await until('4 messages at the recipient', () => replicas.sim.messagesTo(FRIEND).length === 4 || undefined, 15_000);
    await until('4 sent in usage', async () => (await usageToday(urlOf('b'), tenant.id)).messagesSent === 4 || undefined);
  }, 60_000);

  it('a replica stopped with SIGTERM writes the calls it counted before it exits', async () => {
    const late = await replicas.boot('late', { USAGE_FLUSH_INTERVAL_MS: '60000' });
    const tenant = await newTenant(urlOf('a'), 'late');
    for (let i = 0; i < 3; i++) expect((await call(`${late.url}/sessions`, { key: tenant.key })).status).toBe(200);
    expect(await late.stop()).toBe(143); // a clean shutdown re-raises SIGTERM
    expect((await usageToday(urlOf('a'), tenant.id)).apiCalls).toBe(3);
  }, 60_000);
});
