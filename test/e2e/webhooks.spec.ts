import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../support/redis';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY, DATABASE_KINDS, METRICS_KEY } from '../support/topology';
import { signedBy, WebhookReceiver, type ReceivedHook } from '../support/webhook-receiver';
import { until } from '../support/wait';

const PHONE = '5511988880011';
const FRIEND = '5511977770012';
const SCHEDULE_MS = [200, 400, 600];

const bodyOf = (hook: ReceivedHook) => JSON.parse(hook.body) as { type: string; timestamp: string; data: { eventId: string; sessionId: string; seq: number; tenantId: string; payload: any } };


/**
 * Webhooks end to end, on the embedded database and on PostgreSQL with Redis: subscriptions over REST,
 * a paired session's events delivered signed (Standard Webhooks) to a receiver on loopback, rotation,
 * the retry schedule (compressed) and dead-lettering, replay, 410, Retry-After, metrics, and (embedded)
 * a restart with deliveries pending.
 */
describe.each(DATABASE_KINDS)('webhooks on the %s database', (kind) => {
  let sim: WaSimServer;
  let receiver: WebhookReceiver;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  let env: Record<string, string>;
  let key: string;
  let sessionId: string;
  const url = (path: string) => `${server.url}${path}`;
  const api = (path: string, method = 'GET', body?: unknown, asKey = key) => call(url(path), { method, key: asKey, body });
  const subscribe = async (path: string, events: string[], extra: Record<string, unknown> = {}) => {
    const answer = await api('/webhooks', 'POST', { url: `${receiver.url}${path}`, events, sessions: [sessionId], ...extra });
    if (answer.status !== 201) throw new Error(`subscribing: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as { id: string; secret: string };
  };
  const sendText = async (text: string) => (await api('/sessions/phone/messages?wait=sent', 'POST', { to: FRIEND, kind: 'text', text })).body as { id: string };
  const hooksOfMessage = (path: string, messageId: string) => receiver.at(path).filter((hook) => bodyOf(hook).data.payload?.id === messageId);

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    receiver = await new WebhookReceiver().start();
    dataDir = tempDir(`webhooks-${kind}`);
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    if (kind === 'postgres') await requireRedis();
    env = {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      METRICS_API_KEY: METRICS_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE: SCHEDULE_MS.map((ms) => `${ms}ms`).join(','),
      WEBHOOK_CONCURRENCY: '4',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_MAX_PER_TENANT: '5',
      ...(database ? { DATABASE_URL: database.url, SYNC_BACKEND: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix('webhooks') } : {}),
    };
    server = await startServer(env);
    key = await tenantKey(server.url, ADMIN_KEY, `webhooks-${kind}`);
    sessionId = (await api('/sessions', 'POST', { name: 'phone' })).body.id;
    await api('/sessions/phone/start', 'POST');
    await waitForStatus(server.url, key, 'phone', 'scan_qr');
    await sim.scanQr((await api('/sessions/phone/qr?format=raw')).body.qr as string, PHONE);
    await waitForStatus(server.url, key, 'phone', 'working');
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await receiver?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('manages subscriptions and answers bad input with a 4xx naming the field', async () => {
    const bad = async (body: unknown, field: string) => {
      const answer = await api('/webhooks', 'POST', body);
      expect({ status: answer.status, code: answer.body.error?.code, fields: answer.body.error?.details?.map((d: { field: string }) => d.field) }).toEqual({ status: 400, code: 'validation_failed', fields: [field] });
    };
    await bad({ events: ['*'] }, 'url');
    await bad({ url: 'ftp://example.com/x', events: ['*'] }, 'url');
    await bad({ url: 'not a url', events: ['*'] }, 'url');
    await bad({ url: `${receiver.url}/x`, events: ['message.nope'] }, 'events');
    await bad({ url: `${receiver.url}/x`, events: [] }, 'events');
    await bad({ url: `${receiver.url}/x`, events: ['*'], sessions: ['no-such-session'] }, 'sessions');
    await bad({ url: `${receiver.url}/x`, events: ['*'], secret: 'plain' }, 'secret');
    await bad({ url: `${receiver.url}/x`, events: ['*'], colour: 'blue' }, 'colour');

    const created = await api('/webhooks', 'POST', { url: `${receiver.url}/crud`, events: ['message.received'], sessions: ['phone'] });
    expect(created).toMatchObject({ status: 201, body: { url: `${receiver.url}/crud`, events: ['message.received'], sessions: [sessionId], enabled: true, disabledReason: null } });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.id as string;
    const shown = await api(`/webhooks/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).not.toHaveProperty('secret');
    expect((await api('/webhooks')).body.data.map((hook: { id: string; secret?: string }) => [hook.id, hook.secret])).toContainEqual([id, undefined]);
    expect(await api(`/webhooks/${id}`, 'PATCH', { events: ['*'], sessions: null, enabled: false })).toMatchObject({
      status: 200,
      body: { events: ['*'], sessions: null, enabled: false, disabledReason: 'disabled through the API' },
    });
    expect(await api(`/webhooks/${id}`, 'PATCH', { events: ['bogus'] })).toMatchObject({ status: 400, body: { error: { details: [{ field: 'events' }] } } });

    const stranger = await tenantKey(server.url, ADMIN_KEY, `webhooks-stranger-${kind}`);
    expect(await api(`/webhooks/${id}`, 'GET', undefined, stranger)).toMatchObject({ status: 404, body: { error: { code: 'webhook_not_found' } } });
    expect((await api('/webhooks/not-a-uuid')).status).toBe(404);
    for (let i = 0; i < 5; i++) expect((await api('/webhooks', 'POST', { url: `${receiver.url}/limit`, events: ['*'] }, stranger)).status).toBe(201);
    expect(await api('/webhooks', 'POST', { url: `${receiver.url}/limit`, events: ['*'] }, stranger)).toMatchObject({ status: 409, body: { error: { code: 'webhook_limit_reached' } } });

    expect((await api(`/webhooks/${id}`, 'DELETE')).status).toBe(204);
    expect((await api(`/webhooks/${id}`)).status).toBe(404);
  });

  it("delivers the session's inbound and outbound message events, signed, with type, session, seq and payload", async () => {
    const hook = await subscribe('/signed', ['message.received', 'message.sent']);
    await sim.deliverMessage(PHONE, { from: FRIEND, text: 'inbound for the hook' });
    const sent = await sendText('outbound for the hook');
    const inbound = await until('the inbound message hook', () => receiver.at('/signed').find((h) => bodyOf(h).data.payload?.text === 'inbound for the hook'));
    const outbound = await until('the outbound message hook', () => hooksOfMessage('/signed', sent.id)[0]);

    for (const [got, type] of [[inbound, 'message.received'], [outbound, 'message.sent']] as const) {
      expect(signedBy(hook.secret, got)).toBe(true);
      expect(got.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(got.headers['content-type']).toBe('application/json');
      const body = bodyOf(got);
      expect(body).toMatchObject({ type, data: { sessionId, tenantId: expect.any(String), seq: expect.any(Number), eventId: expect.any(String) } });
      const logged = (await api(`/sessions/phone/events?after=${body.data.seq - 1}&limit=1`)).body.data[0];
      expect(logged).toMatchObject({ id: body.data.eventId, seq: body.data.seq, type, occurredAt: body.timestamp });
    }
    expect(bodyOf(outbound).data.payload).toMatchObject({ id: sent.id, text: 'outbound for the hook', direction: 'out' });
    expect(signedBy('whsec_' + Buffer.alloc(32, 1).toString('base64'), outbound)).toBe(false);
    // Only the types subscribed to: the statuses that follow the send are not delivered here.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.at('/signed').map((h) => bodyOf(h).type).filter((type) => type === 'message.status')).toEqual([]);
    await api(`/webhooks/${hook.id}`, 'DELETE');
  });

  it('signs with both secrets during a rotation overlap, so the old and the new one verify', async () => {
    const hook = await subscribe('/rotate', ['message.sent']);
    const rotated = await api(`/webhooks/${hook.id}/secret`, 'POST', {});
    expect(rotated).toMatchObject({ status: 200, body: { id: hook.id, secret: expect.stringMatching(/^whsec_/), previousSecretUntil: expect.any(String) } });
    expect(rotated.body.secret).not.toBe(hook.secret);
    const sent = await sendText('signed twice');
    const got = await until('the rotated hook', () => hooksOfMessage('/rotate', sent.id)[0]);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(signedBy(rotated.body.secret, got)).toBe(true);
    expect(signedBy(hook.secret, got)).toBe(true);
    await api(`/webhooks/${hook.id}`, 'DELETE');
  });

  it('retries a failing endpoint on the schedule under one webhook-id, dead-letters it, and delivers it on replay', async () => {
    receiver.answer('/failing', { status: 500 });
    const hook = await subscribe('/failing', ['message.sent']);
    const sent = await sendText('fails for a while');
    const attempts = await until('four attempts', () => hooksOfMessage('/failing', sent.id).length >= 4 && hooksOfMessage('/failing', sent.id));
    expect(new Set(attempts.map((h) => h.headers['webhook-id'])).size).toBe(1);
    const gaps = attempts.slice(1).map((h, i) => h.at - attempts[i]!.at);
    SCHEDULE_MS.forEach((wait, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(wait * 0.9 - 15);
      expect(gaps[i]).toBeLessThan(wait * 1.1 + 800);
    });
    const [dead] = (await until('the delivery is dead', async () => {
      const page = (await api(`/webhooks/${hook.id}/deliveries?status=dead`)).body.data;
      return page.length > 0 && page;
    })) as any[];
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, lastStatus: 500, lastError: 'HTTP 500: answer 500', webhookId: attempts[0]!.headers['webhook-id'], nextAttemptAt: null });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(hooksOfMessage('/failing', sent.id)).toHaveLength(4);

    receiver.answer('/failing', { status: 200 });
    expect(await api(`/webhooks/${hook.id}/deliveries/${dead.id}/retry`, 'POST')).toMatchObject({ status: 200, body: { id: dead.id, status: 'pending', attempts: 0 } });
    const replayed = await until('the replay', () => hooksOfMessage('/failing', sent.id)[4]);
    expect(replayed.headers['webhook-id']).toBe(dead.webhookId);
    const delivered = await until('delivered', async () => {
      const one = (await api(`/webhooks/${hook.id}/deliveries/${dead.id}`)).body;
      return one.status === 'delivered' && one;
    });
    expect(delivered).toMatchObject({ attempts: 1, lastStatus: 200, lastError: null, deliveredAt: expect.any(String) });
    expect(await api(`/webhooks/${hook.id}/deliveries/retry`, 'POST', { status: 'delivered' })).toMatchObject({ status: 200, body: { retried: 1, ids: [dead.id] } });
    await until('the second replay', () => hooksOfMessage('/failing', sent.id)[5]);
    expect(await api(`/webhooks/${hook.id}/deliveries/retry`, 'POST', {})).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    await api(`/webhooks/${hook.id}`, 'DELETE');
  });

  it('follows no redirect and gives up on an endpoint slower than WEBHOOK_TIMEOUT_MS, recording why', async () => {
    receiver.answer('/moved', { status: 302, headers: { location: `${receiver.url}/elsewhere` } });
    receiver.answer('/hangs', { status: 200, delayMs: 1_500 });
    const moved = await subscribe('/moved', ['message.sent']);
    const hangs = await subscribe('/hangs', ['message.sent']);
    const sent = await sendText('nobody answers well');
    const firstOf = (id: string) =>
      until(`a failed attempt at ${id}`, async () => {
        const [delivery] = (await api(`/webhooks/${id}/deliveries`)).body.data;
        return Boolean(delivery?.attempts >= 1 && delivery.lastError) && delivery;
      });
    expect(await firstOf(moved.id)).toMatchObject({ lastStatus: 302, lastError: `HTTP 302: redirect to ${receiver.url}/elsewhere not followed` });
    expect(await firstOf(hangs.id)).toMatchObject({ lastStatus: null, lastError: 'timeout: no complete answer within 1000 ms' });
    expect(receiver.at('/elsewhere')).toEqual([]);
    expect(hooksOfMessage('/hangs', sent.id).length).toBeGreaterThanOrEqual(1);
    await api(`/webhooks/${moved.id}`, 'DELETE');
    await api(`/webhooks/${hangs.id}`, 'DELETE');
  });

  it('disables the subscription when its endpoint answers 410 Gone', async () => {
    receiver.answer('/gone', { status: 410 });
    const hook = await subscribe('/gone', ['message.sent']);
    const sent = await sendText('to a gone endpoint');
    await until('the 410', () => hooksOfMessage('/gone', sent.id)[0]);
    const shown = await until('disabled', async () => {
      const body = (await api(`/webhooks/${hook.id}`)).body;
      return body.enabled === false && body;
    });
    expect(shown.disabledReason).toContain('410');
    const deliveries = (await api(`/webhooks/${hook.id}/deliveries`)).body.data;
    expect(deliveries).toEqual([expect.objectContaining({ status: 'disabled', lastStatus: 410, attempts: 1 })]);
    await sendText('after it went away');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await api(`/webhooks/${hook.id}/deliveries`)).body.data).toHaveLength(1);
    expect(await api(`/webhooks/${hook.id}/deliveries/${deliveries[0].id}/retry`, 'POST')).toMatchObject({ status: 409, body: { error: { code: 'webhook_disabled' } } });
    await api(`/webhooks/${hook.id}`, 'DELETE');
  });

  it("waits as long as a 429's Retry-After asks before the next attempt", async () => {
    receiver.answer('/busy', (nth) => (nth === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    const hook = await subscribe('/busy', ['message.sent']);
    const sent = await sendText('wait for me');
    const [first, second] = await until('two attempts', () => hooksOfMessage('/busy', sent.id).length >= 2 && hooksOfMessage('/busy', sent.id));
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_990);
    expect(second!.at - first!.at).toBeLessThan(3_000);
    await api(`/webhooks/${hook.id}`, 'DELETE');
  });

  it('reports deliveries, attempts and the queue on /metrics', async () => {
    const text = (await call(url('/metrics'), { headers: { authorization: `Bearer ${METRICS_KEY}` } })).body as string;
    const value = (line: RegExp) => Number(text.split('\n').find((l) => line.test(l))?.split(' ').at(-1));
    expect(value(/^webhook_deliveries_total\{.*outcome="delivered"/)).toBeGreaterThan(0);
    expect(value(/^webhook_deliveries_total\{.*outcome="dead"/)).toBeGreaterThanOrEqual(1);
    expect(value(/^webhook_deliveries_total\{.*outcome="disabled"/)).toBeGreaterThanOrEqual(1);
    expect(value(/^webhook_attempt_duration_seconds_count\{.*result="5xx"/)).toBeGreaterThanOrEqual(4);
    expect(value(/^webhook_queue_depth/)).toBeGreaterThanOrEqual(0);
    expect(value(/^webhook_oldest_due_age_seconds/)).toBeGreaterThanOrEqual(0);
  });

  if (kind === 'embedded') {
    it('delivers every webhook-id at least once across a restart with deliveries pending', async () => {
      // A slow endpoint and four requests at a time: most deliveries are still waiting at the stop.
      receiver.answer('/slow', { status: 204, delayMs: 700 });
      const hook = await subscribe('/slow', ['message.sent', 'message.status', 'session.status']);
      for (let i = 0; i < 12; i++) await sendText(`burst ${i}`);
      const stoppedAt = Date.now();
      expect(await server.stop()).toBe(143); // a clean shutdown re-raises SIGTERM
      const beforeRestart = new Set(receiver.at('/slow').map((h) => h.headers['webhook-id']));
      server = await startServer(env);
      await waitForStatus(server.url, key, 'phone', 'working');
      let settledAt = Date.now();
      let last: { webhookId: string; status: string; eventType: string; lastError: string | null; createdAt: string }[] = [];
      const all = await until(
        'every delivery delivered',
        async () => {
          const page = (await api(`/webhooks/${hook.id}/deliveries?limit=200`)).body.data as typeof last;
          if (page.length !== last.length) settledAt = Date.now();
          last = page;
          // Done once every delivery so far is delivered and no new one has appeared for a second.
          return Date.now() - settledAt > 1_000 && last.length > 0 && last.every((delivery) => delivery.status === 'delivered') && last;
        },
        30_000,
      ).catch((error: Error) => {
        const tally = last.reduce<Record<string, number>>((counts, d) => ({ ...counts, [`${d.eventType} ${d.status} ${d.lastError}`]: (counts[`${d.eventType} ${d.status} ${d.lastError}`] ?? 0) + 1 }), {});
        throw new Error(`${error.message}; deliveries: ${JSON.stringify(tally)}`);
      });
      // Some deliveries enqueued before the stop were still waiting then, and the restarted server sent them.
      expect(all.filter((delivery) => Date.parse(delivery.createdAt) < stoppedAt && !beforeRestart.has(delivery.webhookId)).length).toBeGreaterThan(0);
      const received = new Set(receiver.at('/slow').map((h) => h.headers['webhook-id']));
      expect(all.filter((delivery) => !received.has(delivery.webhookId))).toEqual([]);
    }, 60_000);
  }
});
