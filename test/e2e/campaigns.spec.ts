import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { newTenant, pairedSession, planFor } from '../support/billing';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { connectEvents, type EventsClient } from '../support/realtime';
import { uniquePrefix } from '../support/redis';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY, DATABASE_KINDS } from '../support/topology';
import { until } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';

const PHONE = '5511988880011';
/** How long a campaign may take to get where a test waits for it: generous, for a 2-core machine running other suites too. */
const SETTLE_TIMEOUT_MS = 60_000;
/** The account of a second tenant's session, whose plan limits campaigns. */
const PLAN_PHONE = '5511988880012';

interface LoggedEvent {
  id: string;
  seq: number;
  type: string;
  occurredAt: string;
  data: any;
}

/** Recipient `i` of campaign `c`: a number of its own, so wa-sim's count per recipient is the campaign's alone. */
const recipientPhone = (c: number, i: number) => `55118${String(c).padStart(2, '0')}${String(i).padStart(4, '0')}`;
const recipients = (c: number, n: number) => Array.from({ length: n }, (_, i) => ({ phone: recipientPhone(c, i), variables: { name: `R${i}`, n: String(i) } }));

/**
 * Campaigns against wa-sim, on the embedded database in one process and on PostgreSQL with Redis: a
 * campaign sends exactly one message per recipient with its rendered text, CSV uploads report invalid and
 * duplicate rows, pause/resume and cancel take effect at once, two concurrent starts run it once, a
 * restart mid-campaign resumes without sending anyone twice, and a stopped session stops the campaign.
 */
describe.each(DATABASE_KINDS)('campaigns on the %s database, against wa-sim', (kind) => {
  let sim: WaSimServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let env: Record<string, string>;
  let server: ServerProcess;
  let key: string;
  let sessionId: string;
  let client: EventsClient;
  let receiver: WebhookReceiver;
  const url = (path: string) => `${server.url}${path}`;
  const get = (path: string) => call(url(path), { key });
  const post = (path: string, body?: unknown, headers?: Record<string, string>) => call(url(path), { method: 'POST', key, body, headers });
  const messagesTo = (phone: string) => sim.messagesTo(phone);
  const sentCount = (c: number, n: number) => Array.from({ length: n }, (_, i) => messagesTo(recipientPhone(c, i)).length).reduce((a, b) => a + b, 0);


  const create = async (c: number, n: number, perMinute: number, extra: Record<string, unknown> = {}) => {
    const answer = await post('/campaigns', { name: `c${c}`, session: 'phone', template: { text: 'Hi {{name}}, you are number {{ n }}.' }, recipients: recipients(c, n), perMinute, ...extra });
    expect(answer.status).toBe(201);
    return answer.body as { id: string; status: string; report: { accepted: number; duplicates: number; invalid: unknown[] } };
  };
  /** The session's whole event log, page by page. */
  async function loggedEvents(): Promise<LoggedEvent[]> {
    const all: LoggedEvent[] = [];
    for (;;) {
      const page = (await get(`/sessions/phone/events?after=${all.length ? all[all.length - 1]!.seq : 0}&limit=200`)).body.data as LoggedEvent[];
      if (page.length === 0) return all;
      all.push(...page);
    }
  }
  const campaign = async (id: string) => (await get(`/campaigns/${id}`)).body;
  const settled = (id: string, status: string, timeoutMs?: number) => until(`campaign ${status}`, async () => ((await campaign(id)).status === status ? campaign(id) : undefined), timeoutMs ?? SETTLE_TIMEOUT_MS);

  /** Every recipient got exactly one WhatsApp message (one distinct id), with its own rendered text. */
  async function expectOncePerRecipient(c: number, n: number): Promise<void> {
    // The recipient's phone decrypts a little after it took the message: wait for the last texts.
    const phones = Array.from({ length: n }, (_, i) => recipientPhone(c, i));
    await until('every arrival decrypted', () => phones.every((phone) => messagesTo(phone).every((message) => message.text !== undefined)), 10_000);
    for (let i = 0; i < n; i++) {
      const got = messagesTo(recipientPhone(c, i));
      expect({ i, ids: got.length }).toEqual({ i, ids: 1 });
      expect(got[0]!.text).toBe(`Hi R${i}, you are number ${i}.`);
    }
  }

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir(`campaigns-${kind}`);
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    env = {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      // The webhook receiver is on loopback.
      WEBHOOK_ALLOW_PRIVATE: 'true',
      ...(database ? { DATABASE_URL: database.url, SYNC_BACKEND: 'redis', REDIS_KEY_PREFIX: uniquePrefix('campaigns') } : {}),
    };
    server = await startServer(env);
    key = await tenantKey(server.url, ADMIN_KEY, `campaigns-${kind}`);
    sessionId = (await post('/sessions', { name: 'phone' })).body.id;
    await post('/sessions/phone/start');
    await waitForStatus(server.url, key, 'phone', 'scan_qr');
    await sim.scanQr((await get('/sessions/phone/qr?format=raw')).body.qr as string, PHONE);
    await waitForStatus(server.url, key, 'phone', 'working');
    client = await connectEvents(server.url, { apiKey: key });
    await client.subscribe({ sessions: ['phone'] });
    receiver = await new WebhookReceiver().start();
    const subscribed = await post('/webhooks', { url: `${receiver.url}/campaigns`, events: ['campaign.progress', 'campaign.completed', 'campaign.failed'] });
    expect(subscribed.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await receiver?.stop();
    await server?.stop();
    await sim?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('sends a 30-recipient campaign once to each, with the text rendered, and tells its progress in the log, over Socket.IO and as webhooks', async () => {
    const created = await create(1, 30, 6000);
    expect(created).toMatchObject({ status: 'draft', report: { accepted: 30, duplicates: 0, invalid: [] } });
    expect((await post(`/campaigns/${created.id}/start`)).body).toMatchObject({ status: 'running' });
    const done = await settled(created.id, 'completed');
    expect(done.progress).toMatchObject({ total: 30, failed: 0, pending: 0 });
    expect(done.progress.sent).toBe(30);
    await expectOncePerRecipient(1, 30);

    const logged = await loggedEvents();
    const mine = logged.filter((event) => event.data.campaignId === created.id);
    expect(mine.map((event) => event.type)).toContain('campaign.progress');
    expect(mine[mine.length - 1]).toMatchObject({ type: 'campaign.completed', data: { status: 'completed', total: 30, sent: 30 } });
    // Throttled to about one a second while it runs (plus the ones at start and end), however fast or slow it went.
    const seconds = (Date.parse(mine[mine.length - 1]!.occurredAt) - Date.parse(mine[0]!.occurredAt)) / 1000;
    expect(mine.filter((event) => event.type === 'campaign.progress').length).toBeLessThanOrEqual(Math.floor(seconds) + 3);
    await client.waitFor('campaign.completed over Socket.IO', (events) => events.some((event) => event.type === 'campaign.completed' && event.data.campaignId === created.id), 5_000);
    // And as webhooks: every campaign event of the log, each delivered (under its event id).
    const logIds = mine.map((event) => event.id).sort();
    const hookIds = () =>
      [...new Set(receiver.at('/campaigns').map((hook) => (JSON.parse(hook.body) as { data: { eventId: string; payload: { campaignId: string } } }).data).filter((data) => data.payload.campaignId === created.id).map((data) => data.eventId))].sort();
    await until('every campaign event as a webhook', () => hookIds().length >= logIds.length, 30_000);
    expect(hookIds()).toEqual(logIds);

    const listed = (await get(`/campaigns/${created.id}/recipients?state=read&limit=200`)).body.data as { state: string }[];
    const states = (await get(`/campaigns/${created.id}/recipients?limit=200`)).body.data as { state: string; messageId: string | null }[];
    expect(states).toHaveLength(30);
    expect(states.every((recipient) => recipient.messageId && ['sent', 'delivered', 'read'].includes(recipient.state))).toBe(true);
    expect(listed.every((recipient) => recipient.state === 'read')).toBe(true);
  }, 120_000);

  it('reports invalid and duplicate rows of a CSV upload, accepts CSV on that route only, and checks JSON the same way', async () => {
    const created = await create(2, 0, 600);
    const csv = ['phone,name,n', `${recipientPhone(2, 0)},Ana,0`, `+${recipientPhone(2, 1)},Bo,1`, `${recipientPhone(2, 0)}@s.whatsapp.net,Ana again,0`, '12,Short,2', `${recipientPhone(2, 3)},Cy`, ''].join('\n');
    const uploaded = await post(`/campaigns/${created.id}/recipients`, csv, { 'content-type': 'text/csv' });
    expect(uploaded.status).toBe(200);
    expect(uploaded.body.report).toEqual({
      accepted: 2,
      duplicates: 1,
      invalid: [
        { row: 6, phone: recipientPhone(2, 3), problem: 'has 2 fields, the header has 3' },
        { row: 5, phone: '12', problem: expect.stringContaining('international number') },
      ],
    });
    expect(uploaded.body.progress.total).toBe(2);
    const json = await post(`/campaigns/${created.id}/recipients`, { recipients: [{ phone: recipientPhone(2, 1), variables: { name: 'Bo', n: 1 } }, { phone: recipientPhone(2, 4), variables: { name: 'Di' } }] });
    expect(json.body.report).toEqual({ accepted: 0, duplicates: 1, invalid: [{ row: 1, phone: recipientPhone(2, 4), problem: 'missing variable n, which the template uses' }] });
    expect((await post(`/campaigns/${created.id}/recipients`, { recipients: 'nope' })).body).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'recipients' }] } });
    expect((await post(`/campaigns/${created.id}/recipients`, 'name\nAna\n', { 'content-type': 'text/csv' })).body).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'body' }] } });
    expect((await post('/sessions/phone/messages', 'to,text\n1,2', { 'content-type': 'text/csv' })).status).toBe(415);
    expect((await post('/campaigns', { name: 'x', session: 'phone', template: { text: 'x' }, perMinute: 0 })).body).toMatchObject({ error: { details: [{ field: 'perMinute' }] } });
    expect((await post('/campaigns', { name: 'x', session: 'nope', template: { text: 'x' }, perMinute: 1 })).status).toBe(404);
    expect((await post(`/campaigns/${created.id}/pause`)).body).toMatchObject({ error: { code: 'campaign_not_running' } });
    expect((await call(url(`/campaigns/${created.id}`), { method: 'DELETE', key })).status).toBe(204);
    expect((await get(`/campaigns/${created.id}`)).status).toBe(404);
  });

  it('pauses at once from a request and resumes where it stopped, each recipient still getting one message', async () => {
    const created = await create(3, 20, 600);
    await post(`/campaigns/${created.id}/start`);
    await until('a few sent', () => sentCount(3, 20) >= 4);
    expect((await post(`/campaigns/${created.id}/pause`)).body).toMatchObject({ status: 'paused' });
    // At most the one message queued before the pause still goes out.
    const atPause = sentCount(3, 20);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sentCount(3, 20)).toBeLessThanOrEqual(atPause + 1);
    const paused = sentCount(3, 20);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(sentCount(3, 20)).toBe(paused);
    expect(paused).toBeLessThan(20);
    expect((await post(`/campaigns/${created.id}/resume`)).body).toMatchObject({ status: 'running' });
    await settled(created.id, 'completed');
    await expectOncePerRecipient(3, 20);
  }, 120_000);

  it('cancel stops sending within a second and fails the message still waiting', async () => {
    const created = await create(4, 40, 600);
    await post(`/campaigns/${created.id}/start`);
    await until('a few sent', () => sentCount(4, 40) >= 3);
    expect((await post(`/campaigns/${created.id}/cancel`)).body).toMatchObject({ status: 'cancelled' });
    const atCancel = sentCount(4, 40);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = sentCount(4, 40);
    expect(after).toBeLessThanOrEqual(atCancel + 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sentCount(4, 40)).toBe(after);
    const done = await campaign(created.id);
    expect(done.progress.sent + done.progress.failed + done.progress.pending).toBe(40);
    expect(done.progress.pending).toBeGreaterThan(30);
    expect((await post(`/campaigns/${created.id}/resume`)).body).toMatchObject({ error: { code: 'campaign_not_paused' } });
  }, 120_000);

  it('runs a campaign once when two starts race', async () => {
    const created = await create(5, 10, 6000);
    const answers = await Promise.all([post(`/campaigns/${created.id}/start`), post(`/campaigns/${created.id}/start`)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect(answers.find((answer) => answer.status === 409)!.body).toMatchObject({ error: { code: 'campaign_not_startable', details: { status: 'running' } } });
    await settled(created.id, 'completed');
    await expectOncePerRecipient(5, 10);
  }, 120_000);

  it('resumes after a restart of the server without sending anyone twice', async () => {
    const created = await create(6, 30, 600);
    await post(`/campaigns/${created.id}/start`);
    await until('some sent', () => sentCount(6, 30) >= 8);
    client.close();
    await server.stop();
    const before = sentCount(6, 30);
    expect(before).toBeLessThan(30);
    server = await startServer(env);
    await settled(created.id, 'completed', 60_000);
    await expectOncePerRecipient(6, 30);
  }, 90_000);

  it('stops a campaign with a clear status when its session is stopped', async () => {
    await waitForStatus(server.url, key, 'phone', 'working');
    const created = await create(7, 10, 60);
    await post(`/campaigns/${created.id}/start`);
    await until('the first sent', () => sentCount(7, 10) >= 1);
    await post('/sessions/phone/stop');
    const stopped = await settled(created.id, 'stopped', 10_000);
    expect(stopped).toMatchObject({ status: 'stopped', reason: 'session_stopped' });
    const logged = await loggedEvents();
    expect(logged.filter((event) => event.data.campaignId === created.id).pop()).toMatchObject({ type: 'campaign.failed', data: { status: 'stopped', reason: 'session_stopped' } });
    expect(sessionId).toBeDefined();
  });

  it("draws on the plan's daily message quota together with API sends, stops with quota_exceeded, and counts against max running campaigns", async () => {
    const tenant = await newTenant(server.url, `campaign-plan-${kind}`);
    await pairedSession(server.url, tenant.key, sim, 'planned', PLAN_PHONE);
    await planFor(server.url, `campaigns-${kind}`, { messagesPerDay: 5, maxRunningCampaigns: 1 }, tenant);
    const as = (path: string, body?: unknown) => call(url(path), { method: body === undefined ? 'GET' : 'POST', key: tenant.key, body });
    const make = async (c: number, n: number) => {
      const answer = await as('/campaigns', { name: `plan${c}`, session: 'planned', template: { text: 'Hi {{name}}, you are number {{ n }}.' }, recipients: recipients(c, n), perMinute: 6000 });
      expect(answer.status).toBe(201);
      return answer.body.id as string;
    };

    // One API send takes one of the five messages of the day.
    expect((await as('/sessions/planned/messages', { to: recipientPhone(9, 99), kind: 'text', text: 'an API send' })).status).toBe(202);
    const first = await make(9, 8);
    const second = await make(8, 2);
    expect((await as(`/campaigns/${first}/start`, {})).status).toBe(200);
    const refused = await as(`/campaigns/${second}/start`, {});
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'plan_limit_reached' } } });

    const stopped = await until('the campaign stopped by the quota', async () => {
      const now = (await as(`/campaigns/${first}`)).body;
      return now.status === 'stopped' ? now : undefined;
    });
    expect(stopped).toMatchObject({ status: 'stopped', reason: 'quota_exceeded' });
    await until('the four campaign messages at wa-sim', () => sentCount(9, 8) >= 4);
    expect(sentCount(9, 8)).toBe(4);
    expect(await as('/sessions/planned/messages', { to: recipientPhone(9, 99), kind: 'text', text: 'over the quota' })).toMatchObject({ status: 429, body: { error: { code: 'quota_exceeded' } } });
    // With the first one stopped, the second may run (and stops at once: no quota left today).
    expect((await as(`/campaigns/${second}/start`, {})).status).toBe(200);
    await until('the second campaign stopped', async () => ((await as(`/campaigns/${second}`)).body.status === 'stopped' ? true : undefined));
    expect(sentCount(8, 2)).toBe(0);
  }, 60_000);
});
