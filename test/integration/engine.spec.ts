import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { BaileysEngine, EngineNotConnectedError, EngineNotRegisteringError, newMessageId, type BaileysEngineOptions, type EngineCloseReason, type EngineEvents, type InboundMessage, type OutgoingMessage } from '@wafleet/engines';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { unrefBaileysTimers } from '../wa-sim/baileys-timers';
import { migratedDatabase, type TestDatabase } from '../support/postgres';
import { until } from '../support/wait';
import { enterPairingCode } from '../support/wa-sim';

type Recorded = { [K in keyof EngineEvents]: [K, ...EngineEvents[K]] }[keyof EngineEvents];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the args of the next `name` event; rejects on a close first (unless close is awaited) or on timeout. */
function next<K extends keyof EngineEvents>(engine: BaileysEngine, name: K, timeoutMs = 20_000): Promise<EngineEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${name} within ${timeoutMs} ms`)), timeoutMs);
    const onEvent = (...args: EngineEvents[K]) => done(undefined, args);
    const onClose = (reason: EngineCloseReason) => done(new Error(`closed with ${reason} while waiting for ${name}`));
    function done(error?: Error, args?: EngineEvents[K]) {
      clearTimeout(timer);
      engine.off(name, onEvent as never);
      engine.off('close', onClose);
      if (error) reject(error);
      else resolve(args!);
    }
    engine.on(name, onEvent as never);
    if (name !== 'close') engine.on('close', onClose);
  });
}

describe('BaileysEngine against wa-sim and PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let restoreTimers: () => void;
  let sim: WaSimServer;
  let port: number;
  const engines: BaileysEngine[] = [];

  beforeAll(async () => {
    restoreTimers = unrefBaileysTimers();
    ({ database, dataSource, tenantId } = await migratedDatabase());
  });
  afterAll(async () => {
    restoreTimers?.();
    await dataSource?.destroy();
    await database?.drop();
  });
  beforeEach(async () => {
    sim = new WaSimServer();
    port = await sim.start();
  });
  afterEach(async () => {
    for (const engine of engines.splice(0)) await engine.stop();
    await sim.stop();
  });

  async function createSession(epoch = 1): Promise<string> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, lease_epoch) VALUES ($1, $2, $3, $4)`, [id, tenantId, `s-${id}`, epoch]);
    return id;
  }

  /** An engine whose every event is kept in order, stopped after the test. */
  function engineFor(options: Partial<BaileysEngineOptions> & { sessionId: string; epoch: number }, url = `ws://127.0.0.1:${port}/ws/chat`) {
    const engine = new BaileysEngine({ dataSource, waWebSocketUrl: url, ...options });
    const events: Recorded[] = [];
    engine.on('qr', (qr) => events.push(['qr', qr]));
    engine.on('open', (me) => events.push(['open', me]));
    engine.on('pairing-code', (code) => events.push(['pairing-code', code]));
    engine.on('close', (reason) => events.push(['close', reason]));
    engines.push(engine);
    return { engine, events };
  }

  /**
   * Has `engine` send `message` while wa-sim holds back `phone`'s queries; resolves once the send waits for
   * the recipient's device list. `outcome` is 'sent' or the error the send failed with.
   */
  async function sendHeldAtDeviceList(engine: BaileysEngine, phone: string, message: OutgoingMessage): Promise<{ outcome: Promise<unknown> }> {
    sim.ignoreQueries(phone, true);
    const outcome = engine.send(message).then(
      () => 'sent',
      (error: unknown) => error,
    );
    // Not any query: the login's own (props, privacy, …) may still be coming in.
    await until('the send waiting for the device list', () => sim.unansweredQueries(phone).includes('usync'));
    return { outcome };
  }

  /** What `outcome` came to within 10 s; Baileys' own query timeout, which a held send would wait out, is 60 s. */
  const within10s = (outcome: Promise<unknown>, after: string) => Promise.race([outcome, sleep(10_000).then(() => `still waiting 10 s after ${after}`)]);

  /** Starts a fresh engine, plays the phone on its first QR and waits for the login after the 515 restart. */
  async function pair(sessionId: string, phone: string, epoch = 1, options: Partial<BaileysEngineOptions> = {}) {
    const paired = engineFor({ ...options, sessionId, epoch });
    const qr = next(paired.engine, 'qr');
    await paired.engine.start();
    await sim.scanQr((await qr)[0], phone);
    const [me] = await next(paired.engine, 'open');
    return { ...paired, me };
  }

  /** Stanza ids of the session's staged received messages (InboundStaging), in id order. */
  const stagedIds = async (sessionId: string) =>
    (await database.query<{ stanza_id: string }>(`SELECT stanza_id FROM inbound_stanzas WHERE session_id = $1 ORDER BY stanza_id`, [sessionId])).map((row) => row.stanza_id);

  const authRows = async (sessionId: string) =>
    Number((await database.query(`SELECT count(*) AS n FROM session_auth_state WHERE session_id = $1`, [sessionId]))[0]!.n);

  it('pairs by QR, and a new engine on the same database logs in again without a QR', async () => {
    const sessionId = await createSession();
    const first = await pair(sessionId, '15550001111');
    expect(first.me.id).toMatch(/^15550001111:\d+@s\.whatsapp\.net$/);

    const stopped = next(first.engine, 'close');
    await first.engine.stop();
    expect(await stopped).toEqual(['stopped']);
    expect(first.events.map(([name]) => name)).toEqual(['qr', 'open', 'close']);
    expect(await authRows(sessionId)).toBeGreaterThan(1);

    const second = engineFor({ sessionId, epoch: 1 });
    const opened = next(second.engine, 'open');
    await second.engine.start();
    expect((await opened)[0].id).toBe(first.me.id);
    expect(second.events.filter(([name]) => name === 'qr')).toEqual([]);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 2, conflicts: 0 });
  });

  it('reports what WhatsApp kept while no engine was connected, at the next login, then what comes live', async () => {
    const sessionId = await createSession();
    const first = await pair(sessionId, '15550001212');
    await until('the device uploaded its keys', () => sim.accounts.findDevice('15550001212', 1)?.keyBundle);
    await first.engine.stop();

    // Between two owners, as in a failover: WhatsApp delivers these at the next login, from its offline queue.
    const waited = [
      await sim.deliverMessage('15550001212', { from: '15550009191', text: 'while nobody was connected' }),
      await sim.deliverMessage('15550001212', { from: '15550009292', text: 'and another' }),
    ];
    const second = engineFor({ sessionId, epoch: 1 });
    const received: InboundMessage[] = [];
    second.engine.on('message', (message) => received.push(message));
    await second.engine.start();
    await until('the two queued messages', () => received.length >= 2);
    const live = await sim.deliverMessage('15550001212', { from: '15550009191', text: 'now connected' });
    await until('the live message', () => received.length >= 3);

    expect(received.map((message) => ({ id: message.id, text: 'text' in message ? message.text : undefined, fromMe: message.fromMe }))).toEqual([
      { id: waited[0]!.id, text: 'while nobody was connected', fromMe: false },
      { id: waited[1]!.id, text: 'and another', fromMe: false },
      { id: live.id, text: 'now connected', fromMe: false },
    ]);
    // The engine reports a message before Baileys acknowledges it to the server.
    await until('WhatsApp told of each message', () => sim.inbox('15550001212').every(({ status }) => status === 'acked'));
    expect(sim.inbox('15550001212').map(({ status }) => status)).toEqual(['acked', 'acked', 'acked']);
  });

  it('reports again, at the next login, a message acknowledged to WhatsApp but never stored, and only until it is', async () => {
    const phone = '15550001313';
    const sessionId = await createSession();
    const first = await pair(sessionId, phone);
    await until('the device uploaded its keys', () => sim.accounts.findDevice(phone, 1)?.keyBundle);
    const staged = () => stagedIds(sessionId);

    // The first engine hands the message on and Baileys acknowledges it; then the process is gone before anything stores it.
    const reported = next(first.engine, 'message');
    const lost = await sim.deliverMessage(phone, { from: '15550009393', text: 'acknowledged, never stored' });
    expect((await reported)[0]).toMatchObject({ id: lost.id, text: 'acknowledged, never stored' });
    await until('WhatsApp counts it delivered', () => sim.inbox(phone).find((message) => message.id === lost.id)?.status === 'acked');
    await first.engine.stop();
    expect(await staged()).toEqual([lost.id]);

    const second = engineFor({ sessionId, epoch: 1 });
    const received: InboundMessage[] = [];
    second.engine.on('message', (message) => received.push(message));
    await second.engine.start();
    await until('the unstored message reported again', () => received.length >= 1);
    const live = await sim.deliverMessage(phone, { from: '15550009393', text: 'and a live one' });
    await until('the live message', () => received.length >= 2);
    expect(received.map((message) => ({ id: message.id, chat: message.chat, fromMe: message.fromMe, text: 'text' in message ? message.text : undefined }))).toEqual([
      { id: lost.id, chat: '15550009393@s.whatsapp.net', fromMe: false, text: 'acknowledged, never stored' },
      { id: live.id, chat: '15550009393@s.whatsapp.net', fromMe: false, text: 'and a live one' },
    ]);
    // From what was kept, not from WhatsApp, which delivered it once.
    expect(sim.inbox(phone).find((message) => message.id === lost.id)).toMatchObject({ status: 'acked', deliveries: 1 });
    await until('the live one staged too', async () => (await staged()).length === 2);

    // A dropped connection: what this engine handed on already is on its way to the store, not reported twice.
    const reopened = next(second.engine, 'open');
    await sim.dropConnection(phone, 503);
    await reopened;
    await sleep(500);
    expect(received.map((message) => message.id)).toEqual([lost.id, live.id]);

    // Stored (the store deletes the stanza in the same transaction): the next login has nothing to report again.
    await database.query(`DELETE FROM inbound_stanzas WHERE session_id = $1 AND stanza_id = ANY($2)`, [sessionId, [lost.id, live.id]]);
    await second.engine.stop();
    const third = engineFor({ sessionId, epoch: 1 });
    const again: InboundMessage[] = [];
    third.engine.on('message', (message) => again.push(message));
    const opened = next(third.engine, 'open');
    await third.engine.start();
    await opened;
    await sleep(500);
    expect(again).toEqual([]);
  });

  it('does not acknowledge a received message it could not keep', async () => {
    const phone = '15550001515';
    const sessionId = await createSession();
    const { engine } = await pair(sessionId, phone);
    await until('the device uploaded its keys', () => sim.accounts.findDevice(phone, 1)?.keyBundle);
    const received: InboundMessage[] = [];
    engine.on('message', (message) => received.push(message));
    // Every staging write fails from now on (the table is in this spec's own database).
    await database.query(`ALTER TABLE inbound_stanzas ADD CONSTRAINT staging_refused CHECK (false) NOT VALID`);
    try {
      const refused = await sim.deliverMessage(phone, { from: '15550009595', text: 'not kept, not acknowledged' });
      const answered = await until('the engine answered the message', () => {
        const status = sim.inbox(phone).find((message) => message.id === refused.id)?.status;
        return status === 'acked' || status === 'refused' ? status : undefined;
      });
      expect(answered).toBe('refused');
      expect(received).toEqual([]);
    } finally {
      await database.query(`ALTER TABLE inbound_stanzas DROP CONSTRAINT staging_refused`);
    }
  });

  it('forgets what it kept of received messages when the auth state is wiped', async () => {
    const phone = '15550001414';
    const sessionId = await createSession();
    const { engine } = await pair(sessionId, phone);
    await until('the device uploaded its keys', () => sim.accounts.findDevice(phone, 1)?.keyBundle);
    const reported = next(engine, 'message');
    await sim.deliverMessage(phone, { from: '15550009494', text: 'kept until stored' });
    await reported;
    await until('the message staged', async () => (await stagedIds(sessionId)).length === 1);
    await engine.logout();
    expect(await stagedIds(sessionId)).toEqual([]);
  });

  it('closes with logged_out and wipes the auth state when the phone unlinks the device', async () => {
    const sessionId = await createSession();
    const { engine, events } = await pair(sessionId, '15550002222');
    expect(await authRows(sessionId)).toBeGreaterThan(0);

    const closed = next(engine, 'close');
    await sim.logoutDevice('15550002222');

    expect(await closed).toEqual(['logged_out']);
    expect(await authRows(sessionId)).toBe(0);
    await sleep(500);
    expect(events.filter(([name]) => name === 'close')).toEqual([['close', 'logged_out']]);
    expect(sim.stats().logins).toBe(1);
  });

  it('logout() wipes the auth state and closes with logged_out; the next start registers anew', async () => {
    const sessionId = await createSession();
    const { engine, events } = await pair(sessionId, '15550005555');
    const closed = next(engine, 'close');

    await engine.logout();

    expect(await closed).toEqual(['logged_out']);
    expect(events.filter(([name]) => name === 'close')).toEqual([['close', 'logged_out']]);
    expect(await authRows(sessionId)).toBe(0);
    const again = engineFor({ sessionId, epoch: 1 });
    const qr = next(again.engine, 'qr');
    await again.engine.start();
    await qr;
    expect(sim.stats().registrations).toBe(2);
  });

  it('lets a newer owner take the session: the older engine closes with replaced and never fights back', async () => {
    const sessionId = await createSession(1);
    const older = await pair(sessionId, '15550003333', 1);
    // Let the writes that follow a login (pre-keys, own LID mapping) finish, so the older engine meets the
    // newer one on the wire (440) rather than at its next auth write (stale_epoch, tested below).
    await sleep(1_000);
    const olderClosed = next(older.engine, 'close');

    await database.query(`UPDATE sessions SET lease_epoch = 2 WHERE id = $1`, [sessionId]);
    const newer = engineFor({ sessionId, epoch: 2 });
    const newerOpen = next(newer.engine, 'open');
    await newer.engine.start();
    await newerOpen;

    expect(await olderClosed).toEqual(['replaced']);
    await sleep(2_000);
    expect(sim.stats()).toMatchObject({ logins: 2, conflicts: 1, live: 1 });
    expect(older.events.map(([name]) => name)).toEqual(['qr', 'open', 'close']);
    expect(newer.events.map(([name]) => name)).toEqual(['open']);
  });

  it('closes with stale_epoch, and does not log in, when the creds write after pairing is fenced off', async () => {
    const sessionId = await createSession(2);
    const { engine, events } = engineFor({ sessionId, epoch: 1 });
    const qr = next(engine, 'qr');
    const closed = next(engine, 'close');
    await engine.start();
    await sim.scanQr((await qr)[0], '15550004444');

    expect(await closed).toEqual(['stale_epoch']);
    await sleep(1_000);
    expect(events.map(([name]) => name)).toEqual(['qr', 'close']);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 0 });
    expect(await authRows(sessionId)).toBe(0);
  });

  it('asks for a pairing code while registering, and links when the phone enters it', async () => {
    const sessionId = await createSession();
    const { engine, events } = engineFor({ sessionId, epoch: 1 });
    await expect(engine.requestPairingCode('15550007777')).rejects.toBeInstanceOf(EngineNotRegisteringError);
    const qr = next(engine, 'qr');
    await engine.start();
    await qr;

    const code = await engine.requestPairingCode('15550007777');
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const opened = next(engine, 'open');
    await enterPairingCode(sim, '15550007777', code);
    expect((await opened)[0].id).toMatch(/^15550007777:\d+@s\.whatsapp\.net$/);
    expect(events).toContainEqual(['pairing-code', code]);
    await expect(engine.requestPairingCode('15550007777')).rejects.toBeInstanceOf(EngineNotRegisteringError);
  });

  it('registers afresh after a pairing code nobody entered, rather than logging in with half-made creds', async () => {
    const shortSim = new WaSimServer({ refsPerRegistration: 1 });
    const shortPort = await shortSim.start();
    try {
      const sessionId = await createSession();
      // The code must be asked for while the only QR is on show: long enough for that on a loaded machine.
      const { engine, events } = engineFor({ sessionId, epoch: 1, qrTimeoutMs: 2_000 }, `ws://127.0.0.1:${shortPort}/ws/chat`);
      const expired = next(engine, 'close');
      const firstQr = next(engine, 'qr');
      await engine.start();
      await firstQr;
      await engine.requestPairingCode('15550009999');
      expect(await expired).toEqual(['qr_expired']);

      const again = next(engine, 'qr');
      await engine.start();
      await again;
      expect(events.map(([name]) => name)).toEqual(['qr', 'pairing-code', 'close', 'qr']);
      expect(shortSim.stats()).toMatchObject({ registrations: 2, logins: 0 });
    } finally {
      await shortSim.stop();
    }
  });

  it.each([
    [403, 'forbidden'],
    [411, 'multi-device mismatch'],
  ])('closes with logged_out and wipes the auth state when WhatsApp ends the connection with %i (%s)', async (code) => {
    const phone = `1555008${code}`;
    const sessionId = await createSession();
    const { engine } = await pair(sessionId, phone);
    const closed = next(engine, 'close');

    expect(await sim.dropConnection(phone, code)).toBe(true);

    expect(await closed).toEqual(['logged_out']);
    expect(await authRows(sessionId)).toBe(0);
  });

  it('reconnects by itself after a transient drop (503), logging in again without a QR', async () => {
    const sessionId = await createSession();
    const { engine, events } = await pair(sessionId, '15550006666');
    const reopened = next(engine, 'open');

    await sim.dropConnection('15550006666', 503);

    await reopened;
    expect(events.map(([name]) => name)).toEqual(['qr', 'open', 'open']);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 2, conflicts: 0 });
  });

  it('fails a send under way at a drop at once, not after the query timeout, and sends again once logged in again', async () => {
    const sessionId = await createSession();
    const { engine } = await pair(sessionId, '15550006767');
    const message = { id: newMessageId(), to: '15550006868@s.whatsapp.net', kind: 'text' as const, text: 'under way at the drop' };
    const { outcome } = await sendHeldAtDeviceList(engine, '15550006767', message);
    expect(sim.messagesTo('15550006868')).toEqual([]);
    const reopened = next(engine, 'open');
    sim.ignoreQueries('15550006767', false);

    await sim.dropConnection('15550006767', 503);

    const failed = await within10s(outcome, 'the drop');
    expect(failed).toBeInstanceOf(EngineNotConnectedError);
    expect(failed).toMatchObject({ state: 'connecting' });
    await reopened;
    await engine.send(message);
    // The send resolves once the stanza is written; wa-sim records it when it has read it.
    await until('the message at wa-sim', () => sim.messagesTo('15550006868').length > 0);
    expect(sim.messagesTo('15550006868').map(({ id, copies }) => ({ id, copies }))).toEqual([{ id: message.id, copies: 1 }]);
  });

  it('fails a send under way when the engine stops, saying it stopped', async () => {
    const sessionId = await createSession();
    const { engine } = await pair(sessionId, '15550006969');
    const { outcome } = await sendHeldAtDeviceList(engine, '15550006969', {
      id: newMessageId(),
      to: '15550006868@s.whatsapp.net',
      kind: 'text',
      text: 'under way at the stop',
    });

    await engine.stop();

    const failed = await within10s(outcome, 'the stop');
    expect(failed).toBeInstanceOf(EngineNotConnectedError);
    expect(failed).toMatchObject({ state: 'stopped' });
  });

  it('logs in again soon after the network goes, without waiting for a close handshake nobody answers', async () => {
    const sessionId = await createSession();
    // Baileys gives a connection up once nothing came for its keepalive interval + 5 s.
    const { engine, events } = await pair(sessionId, '15550007171', 1, { keepAliveMs: 500 });
    // Noticed after 5.5 s; the handshake would add 30 s.
    const reopened = next(engine, 'open', 25_000);

    expect(sim.freezeConnection('15550007171')).toBe(true);

    await reopened;
    expect(events.map(([name]) => name)).toEqual(['qr', 'open', 'open']);
  });

  it('gives up with failed once WhatsApp refuses more logins in a row (500, bad session) than it tolerates', async () => {
    const sessionId = await createSession();
    const { engine } = engineFor({ sessionId, epoch: 1, reconnect: { initialDelayMs: 20, maxBadSessionRetries: 2 } });
    const qr = next(engine, 'qr');
    await engine.start();
    await sim.scanQr((await qr)[0], '15550008888');
    await next(engine, 'open');
    const logins = sim.stats().logins;
    sim.refuseLogins('15550008888', 500);
    const closed = next(engine, 'close');

    await sim.dropConnection('15550008888', 500);

    expect(await closed).toEqual(['failed']);
    // The drop, then two refused logins, are tolerated; the third refusal ends it. The creds stay.
    expect(sim.stats().logins).toBe(logins);
    expect(await authRows(sessionId)).toBeGreaterThan(0);
  });

  it('closes with qr_expired once every QR ref was shown unscanned', async () => {
    const shortSim = new WaSimServer({ refsPerRegistration: 2 });
    const shortPort = await shortSim.start();
    try {
      const sessionId = await createSession();
      const { engine, events } = engineFor({ sessionId, epoch: 1, qrTimeoutMs: 200 }, `ws://127.0.0.1:${shortPort}/ws/chat`);
      const closed = next(engine, 'close');
      await engine.start();

      expect(await closed).toEqual(['qr_expired']);
      expect(events.filter(([name]) => name === 'qr')).toHaveLength(2);
      await sleep(500);
      expect(shortSim.stats().registrations).toBe(1);
    } finally {
      await shortSim.stop();
    }
  });

  describe('against a server that drops every connection', () => {
    let dropper: Server;
    let accepted: number;
    const open = new Set<NetSocket>();

    beforeEach(async () => {
      accepted = 0;
      dropper = createServer((socket) => {
        accepted++;
        open.add(socket);
        socket.on('close', () => open.delete(socket));
        socket.destroy();
      });
      await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    });
    afterEach(async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => dropper.close(resolve));
    });

    it('reconnects with backoff, and stop() during the backoff cancels the pending reconnect', async () => {
      const sessionId = await createSession();
      const url = `ws://127.0.0.1:${(dropper.address() as AddressInfo).port}/ws/chat`;
      const { engine, events } = engineFor({ sessionId, epoch: 1, reconnect: { initialDelayMs: 400, maxDelayMs: 400 } }, url);
      await engine.start();
      // A second connection proves a reconnect was scheduled and ran; each waits 200–400 ms after a drop.
      while (accepted < 2) await sleep(20);
      await sleep(100);

      await engine.stop();
      const seen = accepted;
      await sleep(1_200);

      expect(accepted).toBe(seen);
      expect(events).toEqual([['close', 'stopped']]);
    });
  });
});
