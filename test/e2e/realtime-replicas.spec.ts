import { NginxProxy } from '../../tools/cluster/nginx-proxy';
import { call } from '../support/http';
import { freePort } from '../support/server';
import { connectEvents, refusedConnection, type EventsClient } from '../support/realtime';
import { ReplicaSet } from '../support/replicas';
import { waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const CACHE_TTL_MS = 1500;

/** Two replicas on one PostgreSQL and Redis: a client sees events whichever replica produced them. */
describe('Socket.IO /events across two replicas', () => {
  let replicas: ReplicaSet;
  let tenant: { id: string; key: string };
  const clients: EventsClient[] = [];
  const urlOf = (name: string) => replicas.get(name).url;

  async function connect(replica: string, apiKey = tenant.key): Promise<EventsClient> {
    const client = await connectEvents(urlOf(replica), { apiKey });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    replicas = await ReplicaSet.open('realtime', { API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS) });
    await Promise.all([replicas.boot('a'), replicas.boot('b')]);
    const created = await call(`${urlOf('a')}/tenants`, { method: 'POST', key: ADMIN_KEY, body: { name: 'realtime' } });
    const issued = await call(`${urlOf('a')}/tenants/${created.body.id}/api-keys`, { method: 'POST', key: ADMIN_KEY, body: {} });
    tenant = { id: created.body.id, key: issued.body.key };
  }, 90_000);

  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(() => replicas?.close(), 60_000);

  it("brings an event produced on one replica to a client connected to the other, in seq order", async () => {
    const onA = await connect('a');
    const onB = await connect('b');
    await Promise.all([onA.subscribe({}), onB.subscribe({})]);

    const { body: session } = await call(`${urlOf('a')}/sessions`, { method: 'POST', key: tenant.key, body: { name: 'shared' } });
    for (let round = 0; round < 3; round++) {
      await call(`${urlOf('a')}/sessions/shared/start`, { method: 'POST', key: tenant.key });
      await waitForStatus(urlOf('b'), tenant.key, 'shared', 'scan_qr');
      const producer = (await replicas.ownerOf(session.id))!.replace('replica-', '');
      await call(`${urlOf('b')}/sessions/shared/stop`, { method: 'POST', key: tenant.key });
      // The replica that does not run the session sees its events only through Redis.
      const listener = producer === 'a' ? onB : onA;
      await listener.waitFor(`round ${round} on the replica that did not produce it`, () => listener.seqsOf(session.id).length === 4 * (round + 1));
    }
    const expected = Array.from({ length: 12 }, (_, i) => i + 1);
    await onA.waitFor('every event on a', () => onA.seqsOf(session.id).length === 12);
    await onB.waitFor('every event on b', () => onB.seqsOf(session.id).length === 12);
    expect(onA.seqsOf(session.id)).toEqual(expected);
    expect(onB.seqsOf(session.id)).toEqual(expected);
    expect(onB.events).toEqual(onA.events);
  });

  it('replays on one replica what the other produced, then goes on live from either', async () => {
    const { body: session } = await call(`${urlOf('b')}/sessions`, { method: 'POST', key: tenant.key, body: { name: 'replayed' } });
    await call(`${urlOf('b')}/sessions/replayed/start`, { method: 'POST', key: tenant.key });
    await waitForStatus(urlOf('a'), tenant.key, 'replayed', 'scan_qr');
    await call(`${urlOf('a')}/sessions/replayed/stop`, { method: 'POST', key: tenant.key });

    for (const replica of ['a', 'b']) {
      const client = await connect(replica);
      expect(await client.subscribe({ sessions: ['replayed'], afterSeq: { replayed: 1 } })).toEqual({
        tenant: false,
        sessions: [{ id: session.id, name: 'replayed', afterSeq: 1 }],
      });
    }
    await call(`${urlOf('a')}/sessions/replayed/start`, { method: 'POST', key: tenant.key });
    await waitForStatus(urlOf('b'), tenant.key, 'replayed', 'scan_qr');
    await call(`${urlOf('a')}/sessions/replayed/stop`, { method: 'POST', key: tenant.key });
    for (const client of clients) {
      await client.waitFor('seq 2..8', () => client.seqsOf(session.id).length === 7);
      expect(client.seqsOf(session.id)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('works through nginx, round robin and without sticky sessions, over the websocket transport', async () => {
    const ports = ['a', 'b'].map((name) => Number(new URL(urlOf(name)).port));
    const nginx = await NginxProxy.start({ port: await freePort(), upstreamPorts: ports });
    try {
      // Four connections: round robin puts them on both replicas.
      const viaNginx = await Promise.all([1, 2, 3, 4].map(() => connectEvents(nginx.url, { apiKey: tenant.key })));
      clients.push(...viaNginx);
      const { body: session } = await call(`${nginx.url}/sessions`, { method: 'POST', key: tenant.key, body: { name: 'proxied' } });
      for (const client of viaNginx) expect(await client.subscribe({ sessions: ['proxied'] })).toMatchObject({ sessions: [{ id: session.id }] });
      await call(`${nginx.url}/sessions/proxied/start`, { method: 'POST', key: tenant.key });
      await waitForStatus(nginx.url, tenant.key, 'proxied', 'scan_qr');
      await call(`${nginx.url}/sessions/proxied/stop`, { method: 'POST', key: tenant.key });
      for (const client of viaNginx) {
        await client.waitFor('the cycle through nginx', () => client.seqsOf(session.id).length === 4);
        expect(client.seqsOf(session.id)).toEqual([1, 2, 3, 4]);
      }
    } finally {
      await nginx.stop();
    }
  });

  it('disconnects a key revoked on one replica from the sockets it holds on the other', async () => {
    const issued = await call(`${urlOf('a')}/tenants/${tenant.id}/api-keys`, { method: 'POST', key: ADMIN_KEY, body: {} });
    const onB = await connect('b', issued.body.key);
    const disconnected = new Promise<string>((resolve) => onB.socket.once('disconnect', resolve));
    expect((await call(`${urlOf('a')}/tenants/${tenant.id}/api-keys/${issued.body.id}`, { method: 'DELETE', key: ADMIN_KEY })).status).toBe(204);
    expect(await disconnected).toBe('io server disconnect');
    expect(await refusedConnection(urlOf('a'), { apiKey: issued.body.key })).toMatchObject({ data: { code: 'api_key_invalid' } });
  });
});
