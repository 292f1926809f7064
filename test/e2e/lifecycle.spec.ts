import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { call } from '../support/http';
import { removeDir, ServerProcess, startServer, tempDir } from '../support/server';

const KEY_LINE = /X-API-Key: (wfa_[A-Za-z0-9_-]+)/;

/** How the embedded database was made at this start, from its 'Embedded database open' log line. */
const createdBy = (server: ServerProcess) => server.logLines().find((line) => line.msg === 'Embedded database open')?.created;

/** Whether any file below `dir` holds `text` as bytes. */
function filesContain(dir: string, text: string): boolean {
  const needle = Buffer.from(text);
  return readdirSync(dir, { recursive: true, withFileTypes: true }).some(
    (entry) => entry.isFile() && readFileSync(join(entry.parentPath, entry.name)).includes(needle),
  );
}

describe('first boot, a second process and a reopen on the embedded database', () => {
  const dataDir = tempDir('lifecycle');
  afterAll(() => removeDir(dataDir));

  it('prints a generated admin key once, keeps it 0600, refuses a second process, and reopens with the same key and data', async () => {
    const first = await startServer({ DATA_DIR: dataDir });
    let key: string;
    let tenantKey = '';
    try {
      key = KEY_LINE.exec(first.stdout())?.[1] ?? '';
      expect(key).not.toBe('');
      const file = join(dataDir, 'admin-api-key');
      expect(first.stdout()).toContain(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
      expect(first.logLines().map((line) => JSON.stringify(line)).join('\n')).not.toContain(key);
      expect(createdBy(first)).toBe('template');

      expect((await call(`${first.url}/health`)).status).toBe(200);
      expect((await call(`${first.url}/health/ready`)).status).toBe(200);
      expect((await fetch(`${first.url}/docs`)).status).toBe(200);
      const tenant = await call(`${first.url}/tenants`, { method: 'POST', key, body: { name: 'kept-tenant-zebra' } });
      expect(tenant.status).toBe(201);
      tenantKey = (await call(`${first.url}/tenants/${tenant.body.id}/api-keys`, { method: 'POST', key, body: {} })).body.key;
      expect((await call(`${first.url}/tenants/${tenant.body.id}`, { key: tenantKey })).status).toBe(200);

      const second = await startServer({ DATA_DIR: dataDir }, { waitForReady: false });
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toMatch(/^wafleet: DATA_DIR=".+" is in use by another wafleet process \(pid \d+\); .+\.\n$/);
      expect((await call(`${first.url}/health/ready`)).status).toBe(200);
    } finally {
      await first.stop();
    }

    // The database files hold the tenant's name (the scan works) but never the key itself.
    expect(filesContain(join(dataDir, 'pgdata'), 'kept-tenant-zebra')).toBe(true);
    expect(tenantKey).toMatch(/^wfk_/);
    expect(filesContain(join(dataDir, 'pgdata'), tenantKey)).toBe(false);

    const reopened = await startServer({ DATA_DIR: dataDir });
    try {
      expect(reopened.stdout()).not.toMatch(KEY_LINE);
      expect(createdBy(reopened)).toBeNull();
      const tenants = await call(`${reopened.url}/tenants`, { key: key! });
      expect(tenants.status).toBe(200);
      expect(tenants.body.data.map((tenant: { name: string }) => tenant.name)).toEqual(['kept-tenant-zebra']);
      expect((await call(`${reopened.url}/tenants`, { key: tenantKey })).status).toBe(403);
    } finally {
      await reopened.stop();
    }
  }, 120_000);
});

describe('a crash during the first boot', () => {
  const ADMIN = 'crash-admin-key-0123456789abcdef01234567';
  const dataDir = tempDir('crash');
  afterAll(() => removeDir(dataDir));

  it.each([1500, 3000])('leaves a DATA_DIR that boots (SIGKILL %d ms after start)', async (afterMs) => {
    removeDir(dataDir);
    const crashed = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN }, { waitForReady: false });
    await new Promise((done) => setTimeout(done, afterMs));
    crashed.signal('SIGKILL');
    expect(await crashed.exited).toBe(137);

    await expectBootsAgain();
  }, 90_000);

  it('leaves a DATA_DIR that boots when killed while the new database is being made', async () => {
    removeDir(dataDir);
    const crashed = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN }, { waitForReady: false });
    // pgdata.unfinished is there from before PGlite writes the first file until the database is made.
    const unfinished = join(dataDir, 'pgdata.unfinished');
    while (!existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))) await new Promise((done) => setTimeout(done, 2));
    crashed.signal('SIGKILL');
    expect(await crashed.exited).toBe(137);
    expect(existsSync(unfinished)).toBe(true);
    await expectBootsAgain(true);
  }, 90_000);

  /** Boots on what the crash left; `remade` when the crash came before the database was in place. */
  async function expectBootsAgain(remade?: boolean): Promise<void> {
    const next = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN });
    try {
      if (remade) expect(createdBy(next)).toBe('template');
      expect((await call(`${next.url}/tenants`, { method: 'POST', key: ADMIN, body: { name: 'after-crash' } })).status).toBe(201);
    } finally {
      await next.stop();
    }
    expect(existsSync(join(dataDir, 'pgdata.unfinished'))).toBe(false);
  }
});

describe('SIGTERM', () => {
  const dataDir = tempDir('sigterm');
  afterAll(() => removeDir(dataDir));
  const ADMIN_KEY = 'sigterm-admin-key-0123456789abcdef012345';

  it('turns ready 503 at once, refuses new requests after the drain, lets an in-flight one finish, then exits', async () => {
    const server = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, SHUTDOWN_DRAIN_MS: '2000' });
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify({ name: 'slow-request' });

    // A request whose body is still arriving when the signal comes.
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    await new Promise<void>((done) => socket.once('connect', () => done()));
    socket.write(
      `POST /tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
        body.slice(0, 5),
    );
    await new Promise((done) => setTimeout(done, 200));

    const signalledAt = Date.now();
    server.signal('SIGTERM');
    let ready = await call(`${server.url}/health/ready`);
    while (ready.body?.status !== 'draining' && Date.now() - signalledAt < 5000) ready = await call(`${server.url}/health/ready`);
    expect(ready).toMatchObject({ status: 503, body: { status: 'draining' } });
    // Still inside the drain window: other requests are served.
    expect((await call(`${server.url}/health`)).status).toBe(200);

    // Past the drain new requests are refused, but the slow request is still waiting to be served.
    let late = await call(`${server.url}/health`);
    while (late.status === 200 && Date.now() - signalledAt < 10_000) late = await call(`${server.url}/health`);
    expect(late).toMatchObject({ status: 503, body: { error: { code: 'shutting_down' } } });
    expect(late.headers.get('retry-after')).toBe('1');
    expect(answer).toBe('');
    socket.write(body.slice(5));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    expect(answer).toContain('"name":"slow-request"');
    expect(await server.exited).toBe(143);
    expect(server.stdout()).toContain('Embedded database closed');
    expect(server.stdout()).not.toContain('did not close cleanly');

    // What the slow request stored is there after a reopen.
    const reopened = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY });
    try {
      const names = (await call(`${reopened.url}/tenants`, { key: ADMIN_KEY })).body.data.map((tenant: { name: string }) => tenant.name);
      expect(names).toEqual(['slow-request']);
    } finally {
      await reopened.stop();
    }
  }, 90_000);
});
