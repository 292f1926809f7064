import { createServer, connect, type Server, type Socket } from 'node:net';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const SHUTDOWN_TIMEOUT_MS = 5_000;

/** A TCP hop between the server and PostgreSQL that the test can cut, as a lost database looks to the server. */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private server?: Server;

  async start(target: URL): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return (server.address() as { port: number }).port;
  }

  /** Every connection dies and new ones are refused. */
  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('shutdown when the database is gone', () => {
  let database: TestDatabase;
  let sim: WaSimServer;
  let proxy: CuttableProxy;
  let server: ServerProcess;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sim = new WaSimServer();
    const simPort = await sim.start();
    proxy = new CuttableProxy();
    const url = new URL(database.url);
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(await proxy.start(url));
    dir = tempDir('no-database');
    server = await startServer({
      DATA_DIR: dir,
      DATABASE_URL: proxied.toString(),
      ADMIN_API_KEY: ADMIN_KEY,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat`,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LEASE_TTL_MS: '3000',
    });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    await database?.drop();
    removeDir(dir);
  }, 60_000);

  it('still stops its sessions and exits within SHUTDOWN_TIMEOUT_MS', async () => {
    const key = await tenantKey(server.url, ADMIN_KEY, 'no-database');
    await call(`${server.url}/sessions`, { method: 'POST', key, body: { name: 'stranded' } });
    await call(`${server.url}/sessions/stranded/start`, { method: 'POST', key });
    await waitForStatus(server.url, key, 'stranded', 'scan_qr');
    const { qr } = (await call(`${server.url}/sessions/stranded/qr?format=raw`, { key })).body;
    await sim.scanQr(qr, '5511966660001');
    await waitForStatus(server.url, key, 'stranded', 'working');
    expect(sim.stats().live).toBe(1);

    await proxy.cut();
    const signalledAt = Date.now();
    server.signal('SIGTERM');
    const code = await server.exited;

    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    expect([1, 143]).toContain(code);
    // Its WhatsApp connection is closed either way: no replica keeps talking for a session it may have lost.
    const deadline = Date.now() + 2_000;
    while (sim.stats().live > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sim.stats().live).toBe(0);
  });
});
