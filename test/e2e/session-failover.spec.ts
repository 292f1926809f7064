import type { WaSimServer } from '../../apps/wa-sim/src/wa-sim.server';
import { call } from '../support/http';
import { ReplicaSet } from '../support/replicas';
import type { ServerProcess } from '../support/server';
import { tenantKey, waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const LEASE_TTL_MS = 2_000;

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Two replicas on one PostgreSQL and Redis, each session held by one of them under a lease. */
describe('sessions across two replicas', () => {
  let replicas: ReplicaSet;
  let sim: WaSimServer;
  let servers: Map<string, ServerProcess>;
  let key: string;
  const boot = (name: string) => replicas.boot(name);
  const ownerOf = (id: string) => replicas.ownerOf(id);

  beforeAll(async () => {
    replicas = await ReplicaSet.open('failover', { LEASE_TTL_MS: String(LEASE_TTL_MS) });
    ({ sim, servers } = replicas);
    await Promise.all([boot('a'), boot('b')]);
    key = await tenantKey(servers.get('a')!.url, ADMIN_KEY, 'failover');
  }, 90_000);

  afterAll(() => replicas?.close(), 60_000);

  let survivor: string;

  it('moves a session to the survivor, without a QR and without a conflict, when its owner is killed', async () => {
    const asked = servers.get('a')!;
    const { body: session } = await call(`${asked.url}/sessions`, { method: 'POST', key, body: { name: 'moving' } });
    await call(`${asked.url}/sessions/moving/start`, { method: 'POST', key });
    await waitForStatus(asked.url, key, 'moving', 'scan_qr');
    const owner = (await ownerOf(session.id))!.replace('replica-', '');
    survivor = owner === 'a' ? 'b' : 'a';
    // Only the owner's engine has the QR: the other replica asks it over the bus.
    const { qr } = (await call(`${servers.get(survivor)!.url}/sessions/moving/qr?format=raw`, { key })).body;
    expect(qr).toBe((await call(`${servers.get(owner)!.url}/sessions/moving/qr?format=raw`, { key })).body.qr);
    await sim.scanQr(qr, '5511977770001');
    const working = await waitForStatus(asked.url, key, 'moving', 'working');
    const before = sim.stats();

    servers.get(owner)!.signal('SIGKILL');
    await servers.get(owner)!.exited;
    servers.delete(owner);
    const killedAt = Date.now();

    const b = servers.get(survivor)!;
    // Until the survivor holds it, what needs the session's engine answers 503 with Retry-After, never a hang.
    const meanwhile = await call(`${b.url}/sessions/moving/qr?format=raw`, { key });
    expect(meanwhile.status).toBe(503);
    expect(meanwhile.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(['instance_unknown', 'session_unowned']).toContain(meanwhile.body.error.code);
    // The dead owner's row still says working; the survivor claims once the lease lapses by the database's clock.
    await until(async () => (await ownerOf(session.id)) === `replica-${survivor}`, LEASE_TTL_MS + 10_000);
    // Until the survivor writes its own status the row still says working: wait for its login on the wire.
    await until(async () => sim.stats().logins > before.logins, 10_000);
    const resumed = await waitForStatus(b.url, key, 'moving', 'working', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_TTL_MS + 5_000);
    expect(resumed.me).toEqual(working.me);
    expect(sim.stats()).toMatchObject({ registrations: before.registrations, logins: before.logins + 1, conflicts: 0 });
  });

  it('hands its sessions over on SIGTERM at once, and serves a call at any replica through the owner', async () => {
    const b = servers.get(survivor)!;
    const c = await boot('c');
    await call(`${c.url}/sessions/moving/restart`, { method: 'POST', key });
    await waitForStatus(b.url, key, 'moving', 'working');
    const { body: session } = await call(`${b.url}/sessions/moving`, { key });
    expect(await ownerOf(session.id)).toBe(`replica-${survivor}`);
    const before = sim.stats();

    const stoppedAt = Date.now();
    expect(await b.stop()).toBe(143);
    servers.delete(survivor);
    await until(async () => (await ownerOf(session.id)) === 'replica-c', 10_000);
    await waitForStatus(c.url, key, 'moving', 'working', 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_TTL_MS + 1_000);
    expect(await ownerOf(session.id)).toBe('replica-c');
    expect(sim.stats()).toMatchObject({ registrations: before.registrations, conflicts: 0 });

    // A stop asked of another replica is served by the owner at once, and no replica starts it again.
    const d = await boot('d');
    expect(await call(`${d.url}/sessions/moving/stop`, { method: 'POST', key })).toMatchObject({
      status: 200,
      body: { status: 'stopped', desiredState: 'stopped' },
    });
    expect(sim.stats().live).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS));
    expect((await call(`${c.url}/sessions/moving`, { key })).body).toMatchObject({ status: 'stopped', desiredState: 'stopped' });
    expect(await call(`${d.url}/sessions/moving/qr`, { key })).toMatchObject({ status: 409, body: { error: { code: 'session_wrong_state' } } });
  });
});
