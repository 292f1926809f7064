import { randomUUID } from 'node:crypto';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY, bootFor, DATABASE_KINDS } from '../support/topology';
import { until } from '../support/wait';

const FRIEND = '5511977771002';
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`;
/** Each link of the session is to an account of its own: the one before a logout is never the one after. */
const PHONES = ['5511988881001', '5511988881002', '5511988881003', '5511988881004', '5511988881005', '5511988881006', '5511988881007'];

interface Event {
  seq: number;
  type: string;
  data: { id?: string; status?: string; error?: { code: string } };
}

/**
 * A message belongs to the account the session was linked to when it was accepted. What still waits when
 * the link ends (a logout through the API, with or without a running engine, or the phone removing the
 * device) fails with `session_logged_out`, each with its `message.status` event after the `session.status`
 * of the logout, waiters woken and campaigns stopped; none is ever sent from the account the session is
 * linked to next, also one written in the moment after the logout. A campaign started before the first
 * link sends from it. On both databases, against wa-sim.
 */
describe.each(DATABASE_KINDS)('messages waiting at a logout, on the %s database', (kind) => {
  let sim: WaSimServer;
  let simUrl = '';
  beforeAll(async () => {
    sim = new WaSimServer();
    simUrl = `ws://127.0.0.1:${await sim.start()}/ws/chat`;
  });
  const booted = bootFor(kind, () => ({ WA_WEBSOCKET_URL: simUrl }));
  let key: string;
  let links = 0;
  const url = (path: string) => `${booted.server.url}${path}`;
  const post = (path: string, body?: unknown) => call(url(path), { method: 'POST', key, body });
  const send = (text: string, query = '') => post(`/sessions/phone/messages${query}`, { to: FRIEND, kind: 'text', text });
  const message = async (id: string) => (await call(url(`/sessions/phone/messages/${id}`), { key })).body;
  async function events(): Promise<Event[]> {
    const all: Event[] = [];
    for (;;) {
      const page: Event[] = (await call(url(`/sessions/phone/events?after=${all.at(-1)?.seq ?? 0}&limit=200`), { key })).body.data;
      all.push(...page);
      if (page.length < 200) return all;
    }
  }
  const atFriend = (waId: string) => sim.messagesTo(FRIEND).find((sent) => sent.id === waId);

  /** Starts the session and links it to the next account; answers that account's phone. */
  async function link(): Promise<string> {
    const phone = PHONES[links++]!;
    await post('/sessions/phone/start');
    await waitForStatus(booted.server.url, key, 'phone', 'scan_qr');
    await sim.scanQr((await call(url('/sessions/phone/qr?format=raw'), { key })).body.qr, phone);
    await waitForStatus(booted.server.url, key, 'phone', 'working');
    return phone;
  }

  /** Drops the connection and refuses the account's logins, so what is sent now waits in the queue. */
  async function disconnect(phone: string): Promise<void> {
    sim.refuseLogins(phone, 503);
    expect(await sim.dropConnection(phone, 503)).toBe(true);
  }

  /** Queues a message for the account linked now (it is away), then stops the session; answers that account's phone and the send. */
  async function queuedThenStopped(text: string) {
    const before = PHONES[links - 1]!;
    await disconnect(before);
    const queued = await send(text);
    expect(queued).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect(await post('/sessions/phone/stop')).toMatchObject({ status: 200, body: { status: 'stopped' } });
    return { before, queued };
  }

  /** Sends a text from the account linked now and waits until it reached the friend: the queue before it is drained. */
  async function sendsFromNewLink(phone: string): Promise<void> {
    const fresh = await send(`from ${phone}`, '?wait=sent&timeout=20000');
    expect(fresh).toMatchObject({ status: 201, body: { status: 'sent' } });
    expect((await until('the new message at the friend', () => atFriend(fresh.body.waId)))?.from).toMatch(new RegExp(`^${phone}:\\d+@`));
  }

  /** The messages failed as logged out, their events after the logout's in the log, in the order they were sent. */
  async function expectFailedAtLogout(ids: string[]): Promise<void> {
    for (const id of ids) {
      expect(await message(id)).toMatchObject({ id, status: 'failed', error: { code: 'session_logged_out' } });
    }
    const log = await events();
    const logout = log.findLast((event) => event.type === 'session.status' && event.data.status === 'logged_out');
    expect(logout).toBeDefined();
    const failures = log.filter((event) => event.type === 'message.status' && event.data.error?.code === 'session_logged_out' && ids.includes(event.data.id!));
    expect(failures.map((event) => event.data.id)).toEqual(ids);
    expect(failures.every((event) => event.seq > logout!.seq && event.data.status === 'failed')).toBe(true);
  }

  beforeAll(async () => {
    key = await tenantKey(booted.server.url, ADMIN_KEY, `messages-logout-${kind}`);
    await post('/sessions', { name: 'phone' });
  });
  // Registered after bootFor's, so it runs after the server stopped.
  afterAll(() => sim?.stop());

  it('fails what waits at a logout through the API, wakes its waiter, stops the campaigns, and never sends it from the next link', async () => {
    const before = await link();
    // The device list its first send asks for is held back, so that send is under way at the drop; it must
    // not hold the queue up for the next link.
    sim.ignoreQueries(before, true);
    // Paced at one a minute: it is still running at the logout.
    const campaign = (await post('/campaigns', { name: 'slow', session: 'phone', template: { text: 'slow' }, recipients: [{ phone: '5511977771003' }, { phone: '5511977771004' }], perMinute: 1 })).body;
    expect((await post(`/campaigns/${campaign.id}/start`)).body).toMatchObject({ status: 'running' });
    await until('the campaign’s first send waiting for the device list', () => sim.unansweredQueries(before).includes('usync'));
    await disconnect(before);
    sim.ignoreQueries(before, false);
    const queued = [await send('queued 1'), await send('queued 2')];
    // Answered once the message failed: without the wake-up it would wait out the full minute.
    const waiting = send('queued and waited for', '?wait=sent&timeout=60000');
    const listed = async () => (await call(url('/sessions/phone/messages'), { key })).body.data as { text: string }[];
    await until('the waited-for message stored', async () => (await listed()).some((stored) => stored.text === 'queued and waited for'));
    for (const answer of queued) expect(answer).toMatchObject({ status: 202, body: { status: 'pending' } });

    expect(await post('/sessions/phone/logout')).toMatchObject({ status: 200, body: { status: 'logged_out', me: null } });
    // Stopped before the logout is answered, so a start right after it cannot run it on under another account.
    expect((await call(url(`/campaigns/${campaign.id}`), { key })).body).toMatchObject({ status: 'stopped', reason: 'session_logged_out' });
    const waited = await waiting;
    expect(waited).toMatchObject({ status: 201, body: { status: 'failed', error: { code: 'session_logged_out' } } });
    await expectFailedAtLogout([...queued.map((answer) => answer.body.id), waited.body.id]);

    sim.refuseLogins(before, undefined);
    await sendsFromNewLink(await link());
    for (const answer of [...queued, waited]) expect(atFriend(answer.body.waId)).toBeUndefined();
    expect(await message(waited.body.id)).toMatchObject({ status: 'failed' });
  }, 60_000);

  it('fails what waits when the phone removes the device, and never sends it from the next link', async () => {
    const before = PHONES[links - 1]!;
    await disconnect(before);
    const queued = [await send('queued before the phone unlinked 1'), await send('queued before the phone unlinked 2')];
    await sim.logoutDevice(before);
    sim.refuseLogins(before, undefined);
    // The engine logs in again, WhatsApp answers that the device is gone: the session is logged out.
    await waitForStatus(booted.server.url, key, 'phone', 'logged_out');
    await until('the messages failed', async () => ((await message(queued[1]!.body.id)).status === 'failed' ? true : undefined));
    await expectFailedAtLogout(queued.map((answer) => answer.body.id));

    await sendsFromNewLink(await link());
    for (const answer of queued) expect(atFriend(answer.body.waId)).toBeUndefined();
  }, 60_000);

  it('fails what waits when a stopped session is logged out, with no engine to tell WhatsApp', async () => {
    const { before, queued } = await queuedThenStopped('queued before the stop');
    expect(await message(queued.body.id)).toMatchObject({ status: 'pending' });
    expect(await post('/sessions/phone/logout')).toMatchObject({ status: 200, body: { status: 'logged_out', me: null } });
    await expectFailedAtLogout([queued.body.id]);

    sim.refuseLogins(before, undefined);
    await sendsFromNewLink(await link());
    expect(atFriend(queued.body.waId)).toBeUndefined();
  }, 60_000);

  it('sends the messages of a campaign started before the session was first linked from that link', async () => {
    await post('/sessions', { name: 'fresh' });
    await post('/sessions/fresh/start');
    await waitForStatus(booted.server.url, key, 'fresh', 'scan_qr');
    const campaign = (await post('/campaigns', { name: 'early', session: 'fresh', template: { text: 'early bird' }, recipients: [{ phone: FRIEND }], perMinute: 60 })).body;
    expect((await post(`/campaigns/${campaign.id}/start`)).body).toMatchObject({ status: 'running' });
    const queued = await until('the campaign message queued', async () => {
      const [recipient] = (await call(url(`/campaigns/${campaign.id}/recipients`), { key })).body.data as { messageId: string | null }[];
      return recipient?.messageId ?? undefined;
    });
    const phone = PHONES[links++]!;
    await sim.scanQr((await call(url('/sessions/fresh/qr?format=raw'), { key })).body.qr, phone);
    await waitForStatus(booted.server.url, key, 'fresh', 'working');
    const sent = await until('the campaign message sent', async () => {
      const answer = (await call(url(`/sessions/fresh/messages/${queued}`), { key })).body;
      return answer.status !== 'pending' ? answer : undefined;
    });
    expect(sent).toMatchObject({ status: expect.stringMatching(/^(sent|delivered|read)$/), text: 'early bird' });
    expect((await until('at the friend', () => atFriend(sent.waId)))?.from).toMatch(new RegExp(`^${phone}:\\d+@`));
  }, 60_000);

  if (kind === 'postgres') {
    // A send accepted for the old link in the moment of the logout (another replica's session cache is up
    // to 250 ms old) can be written after the logout failed the queue: no later link sends it, and the
    // next one fails it.
    it('never sends a message written for the old link after the logout, and fails it once the session links again', async () => {
      const before = (await call(url('/sessions/phone'), { key })).body.me.id as string;
      expect(await post('/sessions/phone/logout')).toMatchObject({ status: 200, body: { status: 'logged_out' } });
      const late = { id: randomUUID(), waId: `3EB0${randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase()}` };
      await booted.database!.query(
        `INSERT INTO messages (id, tenant_id, session_id, wa_id, chat, from_me, direction, kind, body, content, status, link)
         SELECT $1, tenant_id, id, $2, $3, true, 'out', 'text', 'accepted for the old link', '{}'::jsonb, 'pending', $4 FROM sessions WHERE name = 'phone'`,
        [late.id, late.waId, FRIEND_JID, before],
      );
      const after = await link();
      await until('the late message failed', async () => ((await message(late.id)).status === 'failed' ? true : undefined));
      expect(await message(late.id)).toMatchObject({ error: { code: 'session_logged_out' } });
      await sendsFromNewLink(after);
      expect(atFriend(late.waId)).toBeUndefined();
    }, 60_000);

    // A row that missed the logout still names the old account (its auth state gone, say, with no status
    // stored): the engine, logged in as another, is handed only what was accepted for that one.
    it('never hands an engine a message accepted for another account, even when the session row missed the logout', async () => {
      const { before, queued } = await queuedThenStopped('accepted for the account before');
      await booted.database!.query(`DELETE FROM session_auth_state WHERE session_id = (SELECT id FROM sessions WHERE name = 'phone')`);
      sim.refuseLogins(before, undefined);
      const after = await link();
      await until('the message failed', async () => ((await message(queued.body.id)).status === 'failed' ? true : undefined));
      expect(await message(queued.body.id)).toMatchObject({ error: { code: 'session_logged_out' } });
      await sendsFromNewLink(after);
      expect(atFriend(queued.body.waId)).toBeUndefined();
    }, 60_000);
  }
});
