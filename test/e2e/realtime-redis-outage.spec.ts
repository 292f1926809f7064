import { Redis } from 'ioredis';
import { call } from '../support/http';
import { connectEvents, type EventsClient } from '../support/realtime';
import { PrivateRedis } from '../support/redis';
import { ReplicaSet } from '../support/replicas';
import { waitForStatus } from '../support/sessions';
import { ADMIN_KEY } from '../support/topology';

const PREFIX = 'realtime-outage:';

/** Socket.IO between two replicas while their Redis dies and comes back: no crash, no lasting gap. */
describe('Socket.IO /events while Redis goes away and comes back', () => {
  let redis: PrivateRedis;
  let replicas: ReplicaSet;
  let key: string;
  const clients: EventsClient[] = [];
  const urlOf = (name: string) => replicas.get(name).url;

  /** Both replicas' adapters listen on their request channel again (they resubscribe on reconnect). */
  async function adaptersSubscribed(): Promise<void> {
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const counts = (await probe.call('PUBSUB', 'NUMSUB', `${PREFIX}socket.io-request#/events#`).catch(() => [])) as Array<string | number>;
        if (Number(counts[1] ?? 0) === 2) return;
        if (Date.now() > deadline) throw new Error(`the Socket.IO adapters did not resubscribe: NUMSUB ${JSON.stringify(counts)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      probe.disconnect();
    }
  }

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    replicas = await ReplicaSet.open('realtime-outage', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX });
    await Promise.all([replicas.boot('a'), replicas.boot('b')]);
    const created = await call(`${urlOf('a')}/tenants`, { method: 'POST', key: ADMIN_KEY, body: { name: 'outage' } });
    key = (await call(`${urlOf('a')}/tenants/${created.body.id}/api-keys`, { method: 'POST', key: ADMIN_KEY, body: {} })).body.key;
  }, 90_000);

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await replicas?.close();
    await redis?.kill();
  }, 60_000);

  it('keeps delivering on the producing replica, and fills what the other missed once Redis is back', async () => {
    const byReplica = new Map<string, EventsClient>();
    for (const name of ['a', 'b']) {
      const client = await connectEvents(urlOf(name), { apiKey: key });
      clients.push(client);
      byReplica.set(name, client);
      await client.subscribe({});
    }
    const { body: session } = await call(`${urlOf('a')}/sessions`, { method: 'POST', key, body: { name: 'through-outage' } });
    await call(`${urlOf('a')}/sessions/through-outage/start`, { method: 'POST', key });
    await waitForStatus(urlOf('a'), key, 'through-outage', 'scan_qr');
    for (const client of clients) await client.waitFor('seq 1..3', () => client.seqsOf(session.id).length === 3);

    const owner = (await replicas.ownerOf(session.id))!.replace('replica-', '');
    const other = owner === 'a' ? 'b' : 'a';
    await redis.kill();
    // Served by the owner itself: forwarding between replicas needs Redis.
    expect((await call(`${urlOf(owner)}/sessions/through-outage/stop`, { method: 'POST', key })).status).toBe(200);
    await byReplica.get(owner)!.waitFor('seq 4 on the owner', () => byReplica.get(owner)!.seqsOf(session.id).includes(4));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(byReplica.get(other)!.seqsOf(session.id)).toEqual([1, 2, 3]);

    await redis.restart();
    await adaptersSubscribed();
    await call(`${urlOf(owner)}/sessions/through-outage/start`, { method: 'POST', key });
    await waitForStatus(urlOf(other), key, 'through-outage', 'scan_qr');
    for (const client of clients) {
      await client.waitFor('seq 1..7', () => client.seqsOf(session.id).length === 7);
      expect(client.seqsOf(session.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    }
    for (const name of ['a', 'b']) expect((await call(`${urlOf(name)}/health`)).status).toBe(200);
  }, 60_000);
});
