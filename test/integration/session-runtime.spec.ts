import { DataSource } from 'typeorm';
import { loadConfig } from '@wafleet/config';
import { EngineFactory } from '@wafleet/engines';
import { SessionLeaseMetrics, SessionLeases, SessionPlacement } from '@wafleet/registry';
import { SyncBindings } from '@wafleet/sync';
import { Registry } from 'prom-client';
import { EventLog, Session, SessionEvents, SessionsService, type SessionEvent } from '@wafleet/sessions';
import { Quotas } from '@wafleet/billing';
import { BillingMetrics } from '../../libs/billing/src/billing.metrics';
import { PlanLimits } from '../../libs/billing/src/plan-limits';
import { SessionLocks } from '../../libs/sessions/src/session-locks';
import { SessionLifecycle } from '../../libs/sessions/src/session-lifecycle';
import { SessionReconciler } from '../../libs/sessions/src/session-reconciler';
import { SessionRuntime } from '../../libs/sessions/src/session-runtime';
import { SessionStatusWrites } from '../../libs/sessions/src/session-status-writes';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { unrefBaileysTimers } from '../wa-sim/baileys-timers';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('sessions service and runtime against wa-sim and PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let sim: WaSimServer;
  let restoreTimers: () => void;
  let runtime: SessionRuntime;
  let service: SessionsService;
  let tenantId: string;
  let config: ReturnType<typeof loadConfig>;
  let locks: SessionLocks;
  let leases: SessionLeases;
  let bindings: SyncBindings;
  const events: SessionEvent[] = [];
  let log: EventLog;

  beforeAll(async () => {
    restoreTimers = unrefBaileysTimers();
    sim = new WaSimServer();
    const port = await sim.start();
    ({ database, dataSource, tenantId } = await migratedDatabase([Session]));
    config = loadConfig({
      DATABASE_URL: database.url,
      ADMIN_API_KEY: 'x'.repeat(32),
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${port}/ws/chat`,
      LOG_LEVEL: 'silent',
    });
    const sessionEvents = new SessionEvents();
    sessionEvents.subscribe((event) => events.push(event));
    locks = new SessionLocks();
    leases = new SessionLeases(config, dataSource, new SessionLeaseMetrics(new Registry()));
    log = new EventLog(dataSource, sessionEvents);
    runtime = new SessionRuntime(leases, dataSource, new EngineFactory(config, dataSource), log, new SessionStatusWrites(log), locks);
    bindings = await SyncBindings.create({ ...config.sync, instanceId: config.instanceId, version: config.version }, new Registry());
    service = serviceOn(runtime);
  });

  afterAll(async () => {
    await runtime?.beforeApplicationShutdown();
    leases?.onApplicationShutdown();
    await bindings?.stop();
    await sim?.stop();
    await dataSource?.destroy();
    await database?.drop();
    restoreTimers?.();
  });

  /** The sessions service over `on`, as one replica's module wires it (memory bus: no other replica). */
  const serviceOn = (on: SessionRuntime) =>
    new SessionsService(
      dataSource.getRepository(Session),
      new SessionLifecycle(dataSource.getRepository(Session), on, locks, log),
      bindings.bus,
      config,
      new SessionPlacement(config, dataSource, bindings.cluster),
      log,
      new Quotas(new PlanLimits(dataSource, config), bindings.counters, config, new BillingMetrics(new Registry())),
    );

  const typesFor = (sessionId: string) =>
    events.filter((e) => e.sessionId === sessionId).map((e) => (e.type === 'session.status' ? `status:${(e.data as { status: string }).status}` : e.type));

  it('logs and publishes each status change with the state it describes, in order, in the event envelope', async () => {
    const session = await service.create(tenantId, 'events');
    await service.start(tenantId, 'events');
    const qr = await until(() => runtime.qrOf(session.id), 'a QR');
    await sim.scanQr(qr, '5511988880001');
    await until(async () => (await service.get(tenantId, session.id)).status === 'working', 'working');
    await service.stop(tenantId, 'events');

    expect(typesFor(session.id)).toEqual(['status:starting', 'status:scan_qr', 'session.qr', 'status:working', 'status:stopped']);
    const working = events.find((e) => e.sessionId === session.id && e.type === 'session.status' && (e.data as { status: string }).status === 'working')!;
    expect(working).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'session.status',
      tenantId,
      sessionId: session.id,
      seq: 4,
      occurredAt: expect.stringMatching(/Z$/),
      data: { status: 'working', me: { id: expect.stringMatching(/^5511988880001:\d+@s\.whatsapp\.net$/) } },
    });
    expect((await service.get(tenantId, session.id)).status).toBe('stopped');
    // What subscribers saw is what the log holds, seq 1..n with no gap.
    const published = events.filter((e) => e.sessionId === session.id);
    expect(published.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await log.replay(tenantId, session.id, 0, 100)).toEqual(published);
    expect(await log.replay(tenantId, session.id, 3, 100)).toEqual(published.slice(3));
  });

  it('runs one engine however many starts race, and a stop that races them wins cleanly', async () => {
    const session = await service.create(tenantId, 'racing');
    const registrations = sim.stats().registrations;
    await Promise.all([1, 2, 3, 4, 5].map(() => service.start(tenantId, session.id)));
    await until(() => runtime.qrOf(session.id), 'a QR');
    expect(sim.stats().registrations).toBe(registrations + 1);

    // Whichever takes the lock first, the other sees its result whole: never an engine for a stopped session.
    for (let round = 0; round < 3; round++) {
      await Promise.all([service.start(tenantId, session.id), service.stop(tenantId, session.id)]);
      const row = await service.get(tenantId, session.id);
      expect({ running: runtime.isRunning(session.id), desired: row.desiredState }).toEqual(
        runtime.isRunning(session.id) ? { running: true, desired: 'running' } : { running: false, desired: 'stopped' },
      );
      if (!runtime.isRunning(session.id)) expect(row.status).toBe('stopped');
    }
    await service.stop(tenantId, session.id);
  });

  it('does not undo a stop that was served before the boot pass of the reconciler reached the session', async () => {
    const session = await service.create(tenantId, 'resumed');
    await database.query(`UPDATE sessions SET desired_state = 'running' WHERE id = $1`, [session.id]);
    const registrations = sim.stats().registrations;
    const freshLeases = new SessionLeases(config, dataSource, new SessionLeaseMetrics(new Registry()));
    const freshLog = new EventLog(dataSource, new SessionEvents());
    const fresh = new SessionRuntime(freshLeases, dataSource, new EngineFactory(config, dataSource), freshLog, new SessionStatusWrites(freshLog), locks);
    const freshService = serviceOn(fresh);
    const reconciler = new SessionReconciler(config, dataSource, fresh, locks, new SessionPlacement(config, dataSource, bindings.cluster), bindings.pubsub, log);
    // The stop holds the session's lock when the boot pass comes for it, as a request served first would.
    let release!: () => void;
    const held = locks.run(session.id, () => new Promise<void>((resolve) => (release = resolve)));
    await reconciler.onApplicationBootstrap();
    await database.query(`UPDATE sessions SET desired_state = 'stopped' WHERE id = $1`, [session.id]);
    release();
    await held;
    await reconciler.beforeApplicationShutdown();
    await fresh.beforeApplicationShutdown();
    freshLeases.onApplicationShutdown();

    expect(await freshService.get(tenantId, session.id)).toMatchObject({ desiredState: 'stopped', status: 'stopped' });
    expect(sim.stats().registrations).toBe(registrations);
  });

  describe('a logout that meets WhatsApp logging the session out (the phone removed the device)', () => {
    /** A session paired on `phone`, with its row as a logout reads it while the session works. */
    const working = async (name: string, phone: string) => {
      const session = await service.create(tenantId, name);
      await service.start(tenantId, session.id);
      await sim.scanQr(await until(() => runtime.qrOf(session.id), 'a QR'), phone);
      await until(async () => (await service.get(tenantId, session.id)).status === 'working', 'working');
      return dataSource.getRepository(Session).findOneByOrFail({ id: session.id });
    };
    const authRows = async (sessionId: string) =>
      Number((await database.query<{ n: string }>(`SELECT count(*) AS n FROM session_auth_state WHERE session_id = $1`, [sessionId]))[0]!.n);
    const loggedOnce = ['status:starting', 'status:scan_qr', 'session.qr', 'status:working', 'status:logged_out'];

    it('logs logged_out once when the logout comes as the engine closes', async () => {
      // Asked from the engine's close listener: the runtime finds the engine closing, its logged_out not stored yet.
      let asked: Promise<void> | undefined;
      runtime.onEngine(({ tenantId: tenant, name, engine }) => {
        if (tenant === tenantId && name === 'unlinked') engine.on('close', (reason) => (asked ??= reason === 'logged_out' ? runtime.logout(row) : undefined));
      });
      const row = await working('unlinked', '5511988880002');

      expect(await sim.dropConnection('5511988880002', 401)).toBe(true);
      await until(() => asked !== undefined, 'the logout asked at the close');
      await asked;
      expect(typesFor(row.id)).toEqual(loggedOnce);
      expect(await log.replay(tenantId, row.id, 0, 10)).toEqual(events.filter((e) => e.sessionId === row.id));
      expect(await authRows(row.id)).toBe(0);
    });

    it('logs logged_out once when the engine closed after the logout read the row', async () => {
      const row = await working('unlinked-before', '5511988880003');
      expect(await sim.dropConnection('5511988880003', 401)).toBe(true);
      await until(() => !runtime.isRunning(row.id), 'the engine gone');

      await runtime.logout(row);
      expect(typesFor(row.id)).toEqual(loggedOnce);
      expect(await authRows(row.id)).toBe(0);
    });
  });

  it('leaves the row alone once a newer owner took the session: a stale engine stores no status', async () => {
    const session = await service.create(tenantId, 'fenced');
    await service.start(tenantId, session.id);
    await until(() => runtime.qrOf(session.id), 'a QR');
    // Another owner claims the session and reports its own status.
    await database.query(`UPDATE sessions SET lease_epoch = lease_epoch + 1, status = 'working' WHERE id = $1`, [session.id]);
    const before = typesFor(session.id).length;
    await service.stop(tenantId, session.id);
    expect((await service.get(tenantId, session.id)).status).toBe('working');
    expect(typesFor(session.id).slice(before)).toEqual([]);
  });

  it('logs the stop of a status no engine stands behind (left by a crash)', async () => {
    const session = await service.create(tenantId, 'crashed');
    await database.query(`UPDATE sessions SET status = 'working', desired_state = 'running' WHERE id = $1`, [session.id]);
    await service.stop(tenantId, session.id);
    expect((await service.get(tenantId, session.id)).status).toBe('stopped');
    const logged = await log.replay(tenantId, session.id, 0, 10);
    expect(logged).toEqual([expect.objectContaining({ seq: 1, type: 'session.status', data: { status: 'stopped', me: null } })]);
    expect(events.filter((e) => e.sessionId === session.id)).toEqual(logged);
  });

  it('has the reconciler stop, and log, a status whose replica died mid-stop', async () => {
    const session = await service.create(tenantId, 'abandoned');
    await database.query(`UPDATE sessions SET status = 'scan_qr', lease_epoch = 3 WHERE id = $1`, [session.id]);
    const freshLeases = new SessionLeases(config, dataSource, new SessionLeaseMetrics(new Registry()));
    const fresh = new SessionRuntime(freshLeases, dataSource, new EngineFactory(config, dataSource), log, new SessionStatusWrites(log), locks);
    const reconciler = new SessionReconciler(config, dataSource, fresh, locks, new SessionPlacement(config, dataSource, bindings.cluster), bindings.pubsub, log);
    await reconciler.onApplicationBootstrap();
    await until(async () => (await service.get(tenantId, session.id)).status === 'stopped', 'stopped');
    await reconciler.beforeApplicationShutdown();
    await fresh.beforeApplicationShutdown();
    freshLeases.onApplicationShutdown();
    expect(await log.replay(tenantId, session.id, 0, 10)).toEqual([expect.objectContaining({ seq: 1, data: { status: 'stopped', me: null } })]);
    expect(typesFor(session.id)).toEqual(['status:stopped']);
  });
});
