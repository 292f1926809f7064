import { PGlite } from '@electric-sql/pglite';
import { join } from 'node:path';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { decodeQrPng, tenantKey, waitForStatus, type SessionBody } from '../support/sessions';
import { ADMIN_KEY, DATABASE_KINDS } from '../support/topology';
import { enterPairingCode } from '../support/wa-sim';

const PHONE = '5511999990001';

describe.each(DATABASE_KINDS)('sessions on the %s database, against wa-sim', (kind) => {
  let sim: WaSimServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let env: Record<string, string>;
  let server: ServerProcess;
  let key: string;
  const url = (path: string) => `${server.url}${path}`;
  const post = (path: string, body?: unknown) => call(url(path), { method: 'POST', key, body });

  /** The phone's view of its linked devices, once the sim has read the closing socket (it may lag the API's answer). */
  async function phoneShows(phone: string, expected: { devices: number[]; live: number }): Promise<void> {
    const deadline = Date.now() + 5_000;
    const seen = () => sim.listAccounts().find((account) => account.phone === phone);
    while (Date.now() < deadline && !(seen()?.live === expected.live && seen()?.devices.length === expected.devices.length)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen()).toMatchObject(expected);
  }

  /** Rows of the database behind the server; the embedded one can only be read while no server holds it. */
  async function query(sql: string): Promise<Record<string, unknown>[]> {
    if (database) return database.query(sql);
    await server.stop();
    const db = await PGlite.create(join(dataDir, 'pgdata'));
    try {
      return (await db.query<Record<string, unknown>>(sql)).rows;
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir(`sessions-${kind}`);
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    env = {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    server = await startServer(env);
    key = await tenantKey(server.url, ADMIN_KEY, `sessions-${kind}`);
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  // Three starts of the server and a read of its database: on the embedded one each start loads PGlite.
  it('pairs by QR, comes back after a process restart without a new scan, and ends logged out when the phone unlinks', async () => {
    const created = await post('/sessions', { name: 'sales-bot', metadata: { team: 'sales' } });
    expect(created).toMatchObject({ status: 201, body: { name: 'sales-bot', status: 'stopped', desiredState: 'stopped', me: null, metadata: { team: 'sales' } } });
    const id = (created.body as SessionBody).id;

    expect(await post(`/sessions/${id}/start`)).toMatchObject({ status: 202, body: { id, desiredState: 'running' } });
    await waitForStatus(server.url, key, 'sales-bot', 'scan_qr');

    const raw = await call(url('/sessions/sales-bot/qr?format=raw'), { key });
    expect(raw.status).toBe(200);
    const qr = raw.body.qr as string;
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
    const png = await fetch(url('/sessions/sales-bot/qr'), { headers: { 'x-api-key': key } });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(decodeQrPng(Buffer.from(await png.arrayBuffer()))).toBe(qr);

    await sim.scanQr(qr, PHONE);
    const working = await waitForStatus(server.url, key, id, 'working');
    expect(working.me?.id).toMatch(new RegExp(`^${PHONE}:\\d+@s\\.whatsapp\\.net$`));
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 1, conflicts: 0 });
    expect(await call(url(`/sessions/${id}/qr`), { key })).toMatchObject({
      status: 409,
      body: { error: { code: 'session_wrong_state', message: expect.stringContaining('is working'), details: { status: 'working' } } },
    });

    // A new process on the same database: the session was desired running, so it starts again by itself.
    expect(await server.stop()).toBe(143); // a clean shutdown re-raises SIGTERM
    server = await startServer(env);
    const resumed = await waitForStatus(server.url, key, id, 'working');
    expect(resumed.me).toEqual(working.me);
    expect(sim.stats()).toMatchObject({ registrations: 1, logins: 2, conflicts: 0, live: 1 });

    await sim.logoutDevice(PHONE);
    const loggedOut = await waitForStatus(server.url, key, id, 'logged_out');
    expect(loggedOut).toMatchObject({ me: null, desiredState: 'stopped' });
    expect(await query(`SELECT count(*)::int AS n FROM session_auth_state`)).toEqual([{ n: 0 }]);
    if (!database) server = await startServer(env);
  }, 120_000);

  it('stops, starts, restarts and logs out on request, and a stopped session stays stopped across a restart', async () => {
    const { body: created } = await post('/sessions', { name: 'support' });
    await post('/sessions/support/start');
    await waitForStatus(server.url, key, 'support', 'scan_qr');
    const qr = (await call(url('/sessions/support/qr?format=raw'), { key })).body.qr as string;
    await sim.scanQr(qr, '5511999990002');
    await waitForStatus(server.url, key, 'support', 'working');
    const logins = sim.stats().logins;

    expect(await post('/sessions/support/stop')).toMatchObject({ status: 200, body: { status: 'stopped', desiredState: 'stopped' } });
    expect(await server.stop()).toBe(143); // a clean shutdown re-raises SIGTERM
    server = await startServer(env);
    expect(await call(url(`/sessions/${created.id}`), { key })).toMatchObject({ status: 200, body: { status: 'stopped' } });

    expect(await post('/sessions/support/start')).toMatchObject({ status: 202 });
    await waitForStatus(server.url, key, 'support', 'working');
    expect(await post('/sessions/support/restart')).toMatchObject({ status: 202, body: { desiredState: 'running' } });
    await waitForStatus(server.url, key, 'support', 'working');
    expect(sim.stats().logins).toBe(logins + 2);
    expect(sim.stats().registrations).toBe(2);

    expect(await post('/sessions/support/logout')).toMatchObject({ status: 200, body: { status: 'logged_out', me: null } });
    await phoneShows('5511999990002', { devices: [], live: 0 });
    expect(await post('/sessions/support/logout')).toMatchObject({ status: 409, body: { error: { code: 'session_wrong_state' } } });
    // With its auth state gone, the next start registers a new device.
    await post('/sessions/support/start');
    await waitForStatus(server.url, key, 'support', 'scan_qr');
    expect(await call(url('/sessions/support'), { key, method: 'DELETE' })).toMatchObject({ status: 204 });
    expect(await call(url('/sessions/support'), { key })).toMatchObject({ status: 404, body: { error: { code: 'session_not_found' } } });
  }, 120_000);

  it('links by pairing code instead of a QR, and unlinks from the phone when deleted', async () => {
    await post('/sessions', { name: 'by-code' });
    await post('/sessions/by-code/start');
    await waitForStatus(server.url, key, 'by-code', 'scan_qr');

    const answer = await post('/sessions/by-code/pairing-code', { phone: '+55 11 99999-0004' });
    expect(answer).toMatchObject({ status: 200, body: { phone: '5511999990004', code: expect.stringMatching(/^[A-Z0-9]{8}$/) } });
    await enterPairingCode(sim, '5511999990004', answer.body.code);
    const working = await waitForStatus(server.url, key, 'by-code', 'working');
    expect(working.me?.id).toMatch(/^5511999990004:\d+@s\.whatsapp\.net$/);

    // The session's event log holds what happened, numbered 1..n with no gap, and replays after any seq.
    const log = await call(url('/sessions/by-code/events'), { key });
    expect(log.status).toBe(200);
    const events = log.body.data as Array<{ seq: number; type: string; sessionId: string; data: Record<string, unknown> }>;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.sessionId === working.id)).toBe(true);
    expect(events[0]).toMatchObject({ type: 'session.status', data: { status: 'starting' } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'session.pairing_code', data: { code: answer.body.code, phone: '5511999990004' } }));
    expect(events.at(-1)).toMatchObject({ type: 'session.status', data: { status: 'working', me: working.me } });
    const page = await call(url(`/sessions/${working.id}/events?after=1&limit=2`), { key });
    expect(page.body).toEqual({ data: events.slice(1, 3), nextCursor: '3' });
    const rest = await call(url(`/sessions/by-code/events?cursor=${page.body.nextCursor}&limit=200`), { key });
    expect(rest.body).toEqual({ data: events.slice(3), nextCursor: null });

    // Deleting a connected session unlinks it from the phone first.
    expect(await call(url('/sessions/by-code'), { key, method: 'DELETE' })).toMatchObject({ status: 204 });
    await phoneShows('5511999990004', { devices: [], live: 0 });
  });

  it('answers client mistakes with 4xx naming what is wrong', async () => {
    expect(await post('/sessions', { name: 'dup' })).toMatchObject({ status: 201 });
    expect(await post('/sessions', { name: 'dup' })).toMatchObject({ status: 409, body: { error: { code: 'session_name_taken' } } });
    const bad = await post('/sessions', { name: 'no spaces', metadata: 'x', extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['extra', 'metadata', 'name']);
    const uuidName = await post('/sessions', { name: '3f2c1d6e-8a4b-4c1e-9f00-0123456789ab' });
    expect(uuidName).toMatchObject({ status: 400, body: { error: { details: [{ field: 'name' }] } } });
    expect(await post('/sessions', { name: 'big', metadata: { blob: 'x'.repeat(9000) } })).toMatchObject({
      status: 400,
      body: { error: { details: [{ field: 'metadata' }] } },
    });

    expect(await call(url('/sessions/nope'), { key })).toMatchObject({ status: 404, body: { error: { code: 'session_not_found' } } });
    expect(await post('/sessions/3f2c1d6e-8a4b-4c1e-9f00-0123456789ab/start')).toMatchObject({ status: 404 });
    expect(await call(url('/sessions/dup/qr'), { key })).toMatchObject({
      status: 409,
      body: { error: { code: 'session_wrong_state', message: expect.stringContaining('is stopped') } },
    });
    expect(await call(url('/sessions/dup/events'), { key })).toMatchObject({ status: 200, body: { data: [], nextCursor: null } });
    for (const after of ['abc', '-1', '1.5']) {
      expect(await call(url(`/sessions/dup/events?after=${after}`), { key })).toMatchObject({
        status: 400,
        body: { error: { code: 'validation_failed', details: [{ field: 'after' }] } },
      });
    }
    expect(await call(url('/sessions/dup/events?cursor=zz'), { key })).toMatchObject({ status: 400, body: { error: { details: [{ field: 'cursor' }] } } });
    expect(await call(url('/sessions/nope/events'), { key })).toMatchObject({ status: 404, body: { error: { code: 'session_not_found' } } });
    expect(await call(url('/sessions/dup/qr?format=svg'), { key })).toMatchObject({ status: 400, body: { error: { details: [{ field: 'format' }] } } });
    expect(await post('/sessions/dup/pairing-code', { phone: '12ab' })).toMatchObject({
      status: 400,
      body: { error: { code: 'validation_failed', details: [{ field: 'phone' }] } },
    });
    expect(await post('/sessions/dup/pairing-code', { phone: '+55 11 99999-0003' })).toMatchObject({
      status: 409,
      body: { error: { message: expect.stringContaining('is stopped') } },
    });
    expect(await call(url('/sessions'), { key: ADMIN_KEY })).toMatchObject({ status: 403, body: { error: { code: 'tenant_key_required' } } });

    const otherKey = await tenantKey(server.url, ADMIN_KEY, `other-${kind}`);
    expect(await call(url('/sessions/dup'), { key: otherKey })).toMatchObject({ status: 404 });
    expect(await call(url('/sessions/dup/events'), { key: otherKey })).toMatchObject({ status: 404 });
    const listed = await call(url('/sessions?limit=1'), { key });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.nextCursor).toEqual(expect.any(String));
    expect((await call(url('/sessions'), { key: otherKey })).body).toEqual({ data: [], nextCursor: null });
  });
});
