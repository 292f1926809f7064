import { readFileSync } from 'node:fs';
import { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { removeDir, startServer, tempDir, type ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const INSTANCE_ID = 'solo-1';
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** The value of one series in a Prometheus text scrape, matched on its name and the given labels. */
function sample(scrape: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of scrape.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** GET /cluster and the lease metrics on one embedded process (memory sync: the cluster is this instance). */
describe('the cluster view on the embedded database', () => {
  let sim: WaSimServer;
  let dataDir: string;
  let server: ServerProcess;
  let key: string;
  const url = (path: string) => `${server.url}${path}`;

  beforeAll(async () => {
    sim = new WaSimServer();
    const simPort = await sim.start();
    dataDir = tempDir('cluster-view');
    server = await startServer({ DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN_KEY, INSTANCE_ID, WA_WEBSOCKET_URL: `ws://127.0.0.1:${simPort}/ws/chat` });
    key = await tenantKey(server.url, ADMIN_KEY, 'cluster-view');
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await sim?.stop();
    removeDir(dataDir);
  }, 60_000);

  it('is for the admin only', async () => {
    expect(await call(url('/cluster'))).toMatchObject({ status: 401, body: { error: { code: 'api_key_missing' } } });
    expect(await call(url('/cluster'), { key })).toMatchObject({ status: 403, body: { error: { code: 'admin_only' } } });
  });

  it('shows this instance, and a paired session owned by it under a claimed handoff, with the lease metrics', async () => {
    const { body: empty } = await call(url('/cluster'), { key: ADMIN_KEY });
    expect(empty).toMatchObject({
      instanceId: INSTANCE_ID,
      instances: [{ id: INSTANCE_ID, version: VERSION, sessionsOwned: 0, capacity: null, draining: false }],
      sessions: { data: [], nextCursor: null },
    });
    expect(empty.instances[0].heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(empty.instances[0].startedAt)).toBeLessThanOrEqual(Date.now());

    const { body: session } = await call(url('/sessions'), { method: 'POST', key, body: { name: 'watched' } });
    await call(url('/sessions/watched/start'), { method: 'POST', key });
    await waitForStatus(server.url, key, 'watched', 'scan_qr');
    const { qr } = (await call(url('/sessions/watched/qr?format=raw'), { key })).body;
    await sim.scanQr(qr, '5511966660001');
    await waitForStatus(server.url, key, 'watched', 'working');

    const { status, body: view } = await call(url('/cluster'), { key: ADMIN_KEY });
    expect(status).toBe(200);
    expect(view.instances).toEqual([expect.objectContaining({ id: INSTANCE_ID, sessionsOwned: 1 })]);
    expect(view.sessions.data).toEqual([
      {
        id: session.id,
        name: 'watched',
        tenantId: expect.any(String),
        owner: INSTANCE_ID,
        epoch: expect.any(Number),
        leaseExpiresAt: expect.any(String),
        leaseExpiresInMs: expect.any(Number),
        status: 'working',
        desiredState: 'running',
        handoffs: [{ from: null, to: INSTANCE_ID, epoch: 1, reason: 'claimed', at: expect.any(String) }],
      },
    ]);
    const [watched] = view.sessions.data;
    expect(watched.epoch).toBeGreaterThanOrEqual(1);
    expect(watched.leaseExpiresInMs).toBeGreaterThan(0);
    expect(Date.parse(watched.leaseExpiresAt)).toBeGreaterThan(Date.now() - 1000);

    const scrape = (await call(url('/metrics'), { key: ADMIN_KEY })).body as string;
    expect(sample(scrape, 'session_leases_held')).toBe(1);
    expect(sample(scrape, 'session_lease_claims_total', { result: 'won' })).toBeGreaterThanOrEqual(1);
    expect(sample(scrape, 'session_lease_claims_total', { result: 'lost' })).toBe(0);
    expect(sample(scrape, 'session_handoffs_total', { reason: 'claimed' })).toBe(1);
    expect(sample(scrape, 'session_lease_renew_failures_total')).toBe(0);
    expect(sample(scrape, 'session_leases_lost_total', { loss: 'taken' })).toBe(0);
    expect(sample(scrape, 'session_lease_self_fences_total')).toBe(0);
  });

  it('pages the sessions with limit and cursor, the instances whole on every page', async () => {
    await call(url('/sessions'), { method: 'POST', key, body: { name: 'idle' } });
    const first = await call(url('/cluster?limit=1'), { key: ADMIN_KEY });
    expect(first.body.sessions.data.map((s: { name: string }) => s.name)).toEqual(['watched']);
    expect(first.body.sessions.nextCursor).toEqual(expect.any(String));
    const second = await call(url(`/cluster?limit=1&cursor=${first.body.sessions.nextCursor}`), { key: ADMIN_KEY });
    expect(second.body.instances).toHaveLength(1);
    expect(second.body.sessions).toEqual({
      data: [expect.objectContaining({ name: 'idle', owner: null, epoch: 0, leaseExpiresAt: null, leaseExpiresInMs: null, status: 'stopped', handoffs: [] })],
      nextCursor: null,
    });
    expect(await call(url('/cluster?cursor=nope'), { key: ADMIN_KEY })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
  });
});
