import { call } from '../support/http';
import { ReplicaSet } from '../support/replicas';
import type { ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const LEASE_TTL_MS = 2_000;
const DRAIN_MS = 1_500;

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface ClusterBody {
  instances: { id: string; sessionsOwned: number; draining: boolean }[];
  sessions: { data: { name: string; owner: string | null; epoch: number; handoffs: { from: string | null; to: string; reason: string }[] }[] };
}

/** GET /cluster across replicas on one PostgreSQL and Redis: every instance, and the handoffs a SIGTERM and a SIGKILL leave. */
describe('the cluster view across replicas', () => {
  let replicas: ReplicaSet;
  let servers: Map<string, ServerProcess>;
  let key: string;
  const boot = (name: string, env: Record<string, string> = {}) => replicas.boot(name, env);

  const view = async (server: ServerProcess) => (await call<ClusterBody>(`${server.url}/cluster`, { key: ADMIN_KEY })).body;
  const session = (body: ClusterBody) => body.sessions.data.find((s) => s.name === 'handed');

  beforeAll(async () => {
    replicas = await ReplicaSet.open('cluster-view', {
      LEASE_TTL_MS: String(LEASE_TTL_MS),
      HEARTBEAT_INTERVAL_MS: '200',
      HEARTBEAT_TIMEOUT_MS: '1500',
    });
    servers = replicas.servers;
    // Alone at first, so placement can only start the session on replica-a.
    await boot('a', { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) });
    key = await tenantKey(servers.get('a')!.url, ADMIN_KEY, 'cluster-view');
  }, 90_000);

  afterAll(() => replicas?.close(), 60_000);

  it('shows both replicas, then a released handoff to the survivor after SIGTERM and a lapsed one after SIGKILL', async () => {
    const a = servers.get('a')!;
    await call(`${a.url}/sessions`, { method: 'POST', key, body: { name: 'handed' } });
    await call(`${a.url}/sessions/handed/start`, { method: 'POST', key });
    await waitForStatus(a.url, key, 'handed', 'scan_qr');

    const b = await boot('b');
    await until(async () => ((await view(b)).instances.length === 2 ? true : undefined), 10_000);
    expect((await view(a)).instances.map((instance) => instance.id)).toEqual(['replica-a', 'replica-b']);
    const started = await view(b);
    expect(session(started)).toMatchObject({ owner: 'replica-a', handoffs: [{ from: null, to: 'replica-a', reason: 'claimed' }] });
    expect(started.instances).toEqual([
      expect.objectContaining({ id: 'replica-a', sessionsOwned: 1, draining: false }),
      expect.objectContaining({ id: 'replica-b', sessionsOwned: 0, draining: false }),
    ]);

    // While it drains, the stopping replica says so in its heartbeats; then it releases, and the survivor claims.
    a.signal('SIGTERM');
    await until(async () => ((await view(b)).instances.find((i) => i.id === 'replica-a')?.draining ? true : undefined), DRAIN_MS);
    const released = await until(async () => {
      const body = await view(b);
      return session(body)?.owner === 'replica-b' ? body : undefined;
    }, DRAIN_MS + LEASE_TTL_MS + 5_000);
    expect(await a.exited).toBe(143);
    servers.delete('a');
    expect(session(released)!.handoffs).toEqual([
      expect.objectContaining({ from: 'replica-a', to: 'replica-b', reason: 'released' }),
      expect.objectContaining({ from: null, to: 'replica-a', reason: 'claimed' }),
    ]);

    const c = await boot('c');
    await until(async () => ((await view(c)).instances.some((i) => i.id === 'replica-b') ? true : undefined), 5_000);
    b.signal('SIGKILL');
    await b.exited;
    servers.delete('b');
    const lapsed = await until(async () => {
      const body = await view(c);
      return session(body)?.owner === 'replica-c' ? body : undefined;
    }, LEASE_TTL_MS + 10_000);
    expect(session(lapsed)!.handoffs).toEqual([
      expect.objectContaining({ from: 'replica-b', to: 'replica-c', reason: 'lapsed' }),
      expect.objectContaining({ from: 'replica-a', to: 'replica-b', reason: 'released' }),
      expect.objectContaining({ from: null, to: 'replica-a', reason: 'claimed' }),
    ]);
    // The dead replica drops out of the view once its heartbeats time out.
    const alone = await until(async () => {
      const body = await view(c);
      return body.instances.length === 1 ? body : undefined;
    }, 5_000);
    expect(alone.instances).toEqual([expect.objectContaining({ id: 'replica-c', sessionsOwned: 1 })]);
  });
});
