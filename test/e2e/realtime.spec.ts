import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { connectEvents, refusedConnection, type EventsClient } from '../support/realtime';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitForStatus } from '../support/sessions';
import { ADMIN_KEY, DATABASE_KINDS } from '../support/topology';

const CACHE_TTL_MS = 1500;

/** 1..n: every seq once, in order, with no gap. */
const consecutive = (seqs: number[], from = 1) => seqs.every((seq, i) => seq === from + i);

describe.each(DATABASE_KINDS)('Socket.IO /events on the %s database', (kind) => {
  let sim: WaSimServer;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  let env: Record<string, string>;
  let tenant: { id: string; key: string; keyId: string };
  let other: { id: string; key: string; keyId: string };
  const clients: EventsClient[] = [];
  const url = (path: string) => `${server.url}${path}`;

  async function newTenant(name: string) {
    const created = await call(url('/tenants'), { method: 'POST', key: ADMIN_KEY, body: { name } });
    const issued = await call(url(`/tenants/${created.body.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} });
    return { id: created.body.id as string, key: issued.body.key as string, keyId: issued.body.id as string };
  }

  async function connect(apiKey: string): Promise<EventsClient> {
    const client = await connectEvents(server.url, { apiKey });
    clients.push(client);
    return client;
  }

  async function createSession(key: string, name: string): Promise<string> {
    const created = await call(url('/sessions'), { method: 'POST', key, body: { name } });
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  /** A start (starting, scan_qr, the QR) then a stop: four events in the session's log. */
  async function cycle(key: string, session: string): Promise<void> {
    expect((await call(url(`/sessions/${session}/start`), { method: 'POST', key })).status).toBe(202);
    await waitForStatus(server.url, key, session, 'scan_qr');
    expect((await call(url(`/sessions/${session}/stop`), { method: 'POST', key })).status).toBe(200);
  }

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir(`realtime-${kind}`);
    database = kind === 'postgres' ? await createTestDatabase() : undefined;
    env = {
      DATA_DIR: dataDir,
      ADMIN_API_KEY: ADMIN_KEY,
      API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS),
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    server = await startServer(env);
    tenant = await newTenant(`realtime-${kind}`);
    other = await newTenant(`other-${kind}`);
  }, 90_000);

  afterEach(() => clients.splice(0).forEach((client) => client.close()));

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await database?.drop();
    removeDir(dataDir);
  }, 60_000);

  it('accepts a tenant key in auth or the x-api-key header, and refuses others with a clear connect_error', async () => {
    const byAuth = await connect(tenant.key);
    expect(byAuth.socket.connected).toBe(true);
    const byHeader = await connectEvents(server.url, { headers: { 'x-api-key': tenant.key } });
    clients.push(byHeader);
    expect(await byHeader.subscribe({})).toEqual({ tenant: true, sessions: [] });

    expect(await refusedConnection(server.url)).toMatchObject({ message: expect.stringContaining('auth: { apiKey }'), data: { code: 'api_key_missing' } });
    expect(await refusedConnection(server.url, { apiKey: `${tenant.key}x` })).toMatchObject({
      message: expect.stringContaining('not valid'),
      data: { code: 'api_key_invalid' },
    });
    expect(await refusedConnection(server.url, { apiKey: ADMIN_KEY })).toMatchObject({ data: { code: 'tenant_key_required' } });

    const metrics = (await call(url('/metrics'), { key: ADMIN_KEY })).body as string;
    expect(metrics).toMatch(/^realtime_connections\{[^}]*\} 2$/m);
    for (const code of ['api_key_missing', 'api_key_invalid', 'tenant_key_required']) {
      expect(metrics).toMatch(new RegExp(`^realtime_connections_refused_total\\{code="${code}"[^}]*\\} 1$`, 'm'));
    }
  });

  it('sends a session subscriber only that session, a tenant subscriber all of them, in the event envelope', async () => {
    const one = await createSession(tenant.key, 'one');
    const two = await createSession(tenant.key, 'two');
    const onlyOne = await connect(tenant.key);
    const everything = await connect(tenant.key);
    expect(await onlyOne.subscribe({ sessions: ['one'] })).toEqual({ tenant: false, sessions: [{ id: one, name: 'one' }] });
    expect(await everything.subscribe()).toEqual({ tenant: true, sessions: [] });

    await cycle(tenant.key, 'one');
    await cycle(tenant.key, two);
    await everything.waitFor('both sessions stopped', () => everything.seqsOf(one).length === 4 && everything.seqsOf(two).length === 4);
    await onlyOne.waitFor('session one stopped', () => onlyOne.seqsOf(one).length === 4);

    expect(onlyOne.events.every((event) => event.sessionId === one)).toBe(true);
    expect(onlyOne.seqsOf(one)).toEqual([1, 2, 3, 4]);
    expect(everything.seqsOf(two)).toEqual([1, 2, 3, 4]);
    expect(onlyOne.events.map((e) => (e.type === 'session.status' ? e.data.status : e.type))).toEqual(['starting', 'scan_qr', 'session.qr', 'stopped']);
    expect(onlyOne.events[2]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'session.qr',
      tenantId: tenant.id,
      sessionId: one,
      seq: 3,
      occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      data: { qr: expect.stringMatching(/^https:\/\/wa\.me\/settings\/linked_devices#/) },
    });
    // What went out live is what the log holds.
    expect((await call(url(`/sessions/${one}/events`), { key: tenant.key })).body.data).toEqual(onlyOne.events);
  });

  it("keeps tenants apart: another tenant's session is refused by name, and its events never arrive", async () => {
    const mine = await createSession(tenant.key, 'mine');
    const intruder = await connect(other.key);
    expect(await intruder.subscribe({ sessions: [mine, 'mine', 'nope'] })).toEqual({
      error: { code: 'session_not_found', message: expect.stringContaining(`"${mine}"`), details: { sessions: [mine, 'mine', 'nope'] } },
    });
    expect(await intruder.subscribe({ afterSeq: { [mine]: 0 } })).toMatchObject({ error: { code: 'session_not_found', details: { sessions: [mine] } } });
    expect(await intruder.subscribe({ sessions: 'mine', extra: 1 })).toMatchObject({
      error: { code: 'validation_failed', details: [{ field: 'extra' }, { field: 'sessions' }] },
    });
    // Answered in the ack like any other mistake, a NUL in a session name included (checked by the handler, not the HTTP pipe).
    expect(await intruder.subscribe({ sessions: ['mi\u0000ne'], afterSeq: { 'mi\u0000ne': 'x' } })).toMatchObject({
      error: { code: 'validation_failed', details: [{ field: 'sessions' }, { field: 'afterSeq.mi\u0000ne' }] },
    });
    expect(await intruder.unsubscribe({ sessions: ['mi\u0000ne'] })).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'sessions' }] } });
    expect(await intruder.socket.timeout(10_000).emitWithAck('subcribe', { sessions: ['mine'] })).toEqual({
      error: { code: 'unknown_event', message: 'No event "subcribe" here: send subscribe or unsubscribe.' },
    });
    expect(await intruder.subscribe({})).toEqual({ tenant: true, sessions: [] });

    const owner = await connect(tenant.key);
    await owner.subscribe({ sessions: [mine] });
    await cycle(tenant.key, mine);
    await owner.waitFor('the cycle', () => owner.seqsOf(mine).length === 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(intruder.events).toEqual([]);
  });

  it('answers every malformed subscribe and unsubscribe in its ack with a validation error, never an internal one', async () => {
    const client = await connect(other.key);
    const payloads: unknown[] = [
      1,
      'mine',
      [],
      { sessions: null },
      { sessions: 'all' },
      { sessions: [] },
      { sessions: [{}] },
      { sessions: [['a']] },
      { sessions: ['x'.repeat(101)] },
      { sessions: Array.from({ length: 101 }, (_, i) => `s${i}`) },
      { sessions: ['a\u0000'] },
      { afterSeq: [] },
      { afterSeq: { a: -1 } },
      { afterSeq: { a: 'abc' } },
      { afterSeq: { a: 1e300 } },
      { afterSeq: { 'a\u0000': 1 } },
      { after: { a: 1 } },
      { sessions: ['a'], extra: true },
    ];
    for (const event of ['subscribe', 'unsubscribe']) {
      for (const payload of payloads) {
        const ack = (await client.socket.timeout(10_000).emitWithAck(event, payload)) as { error?: { code: string } };
        expect({ event, payload, code: ack.error?.code }).toEqual({ event, payload, code: 'validation_failed' });
      }
    }
  });

  it('stops the sessions a client unsubscribes from, under a tenant subscription too, until it subscribes again', async () => {
    const one = await createSession(tenant.key, 'leave-one');
    const two = await createSession(tenant.key, 'leave-two');
    const named = await connect(tenant.key);
    const whole = await connect(tenant.key);
    await named.subscribe({ sessions: [one, two] });
    await whole.subscribe();
    expect(await named.unsubscribe({ sessions: ['leave-one'] })).toEqual({ tenant: false, sessions: [{ id: one, name: 'leave-one' }] });
    expect(await whole.unsubscribe({ sessions: [one] })).toEqual({ tenant: false, sessions: [{ id: one, name: 'leave-one' }] });
    expect(await named.unsubscribe({ sessions: [two, 'nope'] })).toMatchObject({ error: { code: 'session_not_found', details: { sessions: ['nope'] } } });
    expect(await named.unsubscribe({ sessions: 'leave-two' })).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'sessions' }] } });

    await cycle(tenant.key, one);
    await cycle(tenant.key, two);
    await named.waitFor('two cycled', () => named.seqsOf(two).length === 4);
    await whole.waitFor('two cycled', () => whole.seqsOf(two).length === 4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(named.seqsOf(one)).toEqual([]);
    expect(whole.seqsOf(one)).toEqual([]);

    // Back again for the tenant subscriber, and everything off for the other.
    expect(await whole.subscribe({ sessions: ['leave-one'] })).toEqual({ tenant: false, sessions: [{ id: one, name: 'leave-one' }] });
    expect(await named.unsubscribe()).toEqual({ tenant: true, sessions: [] });
    await cycle(tenant.key, one);
    await cycle(tenant.key, two);
    await whole.waitFor('both cycled again', () => whole.seqsOf(one).length === 4 && whole.seqsOf(two).length === 8);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(whole.seqsOf(one)).toEqual([5, 6, 7, 8]);
    expect(named.events).toHaveLength(4);
  });

  it('replays the log after a seq, then goes on live with no duplicate and no gap', async () => {
    const id = await createSession(tenant.key, 'replayed');
    await cycle(tenant.key, id);
    await cycle(tenant.key, id); // seq 1..8 are in the log

    const late = await connect(tenant.key);
    // The next start races the replay: its events may be committed before, during or after the log is read.
    const [ack] = await Promise.all([late.subscribe({ afterSeq: { replayed: 2 } }), cycle(tenant.key, 'replayed')]);
    expect(ack).toEqual({ tenant: true, sessions: [{ id, name: 'replayed', afterSeq: 2 }] });
    await late.waitFor('seq 12', () => late.seqsOf(id).includes(12));
    await cycle(tenant.key, id);
    await late.waitFor('seq 16', () => late.seqsOf(id).includes(16));
    expect(late.seqsOf(id)).toEqual(Array.from({ length: 14 }, (_, i) => i + 3));
    expect(consecutive(late.seqsOf(id), 3)).toBe(true);
    expect(new Set(late.events.map((e) => e.id)).size).toBe(late.events.length);
    // The replay came from the log, the rest live.
    const metrics = (await call(url('/metrics'), { key: ADMIN_KEY })).body as string;
    expect(metrics).toMatch(/^realtime_events_sent_total\{source="log"[^}]*\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^realtime_events_sent_total\{source="live"[^}]*\} [1-9]\d*$/m);
  });

  it("disconnects a revoked key's sockets, and refuses it afterwards", async () => {
    const issued = await call(url(`/tenants/${tenant.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} });
    const revokedKey = issued.body.key as string;
    const client = await connect(revokedKey);
    const unaffected = await connect(tenant.key);
    await client.subscribe({});
    const disconnected = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));

    expect((await call(url(`/tenants/${tenant.id}/api-keys/${issued.body.id}`), { method: 'DELETE', key: ADMIN_KEY })).status).toBe(204);
    expect(await disconnected).toBe('io server disconnect');
    expect(unaffected.socket.connected).toBe(true);
    expect(await refusedConnection(server.url, { apiKey: revokedKey })).toMatchObject({ data: { code: 'api_key_invalid' } });
  });

  it('lets its clients go when it shuts down, and still exits cleanly', async () => {
    const client = await connect(tenant.key);
    await client.subscribe({});
    const disconnected = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    expect(await server.stop()).toBe(143); // a clean shutdown re-raises SIGTERM
    expect(await disconnected).toBe('io server disconnect');
    server = await startServer(env);
    expect((await connect(tenant.key)).socket.connected).toBe(true);
  });

  // Only PostgreSQL has a second writer to revoke behind the server's back, as another replica does.
  if (kind === 'postgres') {
    it('drops sockets whose key was revoked elsewhere within API_KEY_CACHE_TTL_MS', async () => {
    const issued = await call(url(`/tenants/${tenant.id}/api-keys`), { method: 'POST', key: ADMIN_KEY, body: {} });
    const client = await connect(issued.body.key);
    const disconnected = new Promise<number>((resolve) => client.socket.once('disconnect', () => resolve(Date.now())));
    // As another replica's revocation looks from here: only the database knows.
    const revokedAt = Date.now();
    await database!.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [issued.body.id]);
    expect((await disconnected) - revokedAt).toBeLessThanOrEqual(CACHE_TTL_MS + 1000);
    });
  }
});
