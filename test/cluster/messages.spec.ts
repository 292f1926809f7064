import type { ClusterSessions, SessionRow } from '../../tools/cluster/cluster-sessions';
import type { LocalCluster, Replica } from '../../tools/cluster/local-cluster';
import { sleep } from '../../tools/cluster/process-group';
import { call, type Answer } from '../support/http';
import { connectEvents, type EventEnvelope, type EventsClient } from '../support/realtime';
import { until } from '../support/wait';
import { LEASE_TTL_MS, sessionOnThreeReplicas } from '../support/session-trio';

const SESSION = 'talker';
/** createPaired appends the session's two-digit index to the prefix. */
const PHONE_PREFIX = '55119700';
const PHONE = `${PHONE_PREFIX}00`;
const FRIEND = '5511966660001';
const FRIEND_JID = `${FRIEND}@s.whatsapp.net`;
/** Another phone that writes to the session's account during the failover. */
const SENDER = '5511955550002';
/** A recipient whose phone is offline when the message reaches it, and reads it while the session has no owner. */
const AWAY = '5511966660003';
const INBOUND_EVERY_MS = 100;

interface SimRecipientMessage {
  id: string;
  text?: string;
  content?: { kind?: string; text?: string };
}

interface SimInboxMessage {
  id: string;
  from: string;
  text: string;
  /** `refused`: the device answered with an error (see below). */
  status: 'pending' | 'delivered' | 'acked' | 'refused';
  /** More than 1: sent again to the next connection because the first never acknowledged it. */
  deliveries: number;
}

/**
 * Messages on three replicas behind nginx, as real processes on wa-sim: a send taken by one replica goes
 * out through the session's owner and its events reach a Socket.IO client wherever it is connected, in
 * `seq` order; one Idempotency-Key raced on two replicas sends once; and a client that reconnects after
 * the owner was killed mid-traffic replays exactly what it missed from the gap-free log.
 */
describe('messages on three replicas through nginx', () => {
  let cluster: LocalCluster;
  let fleet: ClusterSessions;
  let session: SessionRow;
  /** A owns the session; B and C do not. */
  let a: Replica;
  let b: Replica;
  let c: Replica;
  const clients: EventsClient[] = [];

  const send = (base: string, body: Record<string, unknown>, query = '', headers?: Record<string, string>) =>
    call(`${base}/sessions/${SESSION}/messages${query}`, { method: 'POST', key: fleet.key, body: { to: FRIEND, ...body }, headers });
  const sim = async <T>(path: string, init?: { method: string; body: unknown }): Promise<T> => {
    const response = await fetch(`${cluster.simUrl}${path}`, init && { method: init.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) });
    if (!response.ok) throw new Error(`wa-sim answered ${response.status} to ${path}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  const atFriend = async () => (await sim<{ data: SimRecipientMessage[] }>(`/recipients/${FRIEND}/messages`)).data;
  const sentToFriend = async () => (await cluster.simStats()).messagesByRecipient as Record<string, number>;

  async function connect(base: string): Promise<EventsClient> {
    const client = await connectEvents(base, { apiKey: fleet.key });
    clients.push(client);
    return client;
  }

  /** The session's whole event log, page by page, through nginx. */
  async function eventLog(): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    for (let after = 0; ; ) {
      const page = await fleet.call(`/sessions/${SESSION}/events?after=${after}&limit=200`);
      if (page.status !== 200) throw new Error(`GET events answered ${page.status}: ${JSON.stringify(page.body)}`);
      events.push(...(page.body.data as EventEnvelope[]));
      if (page.body.nextCursor === null) return events;
      after = Number(page.body.nextCursor);
    }
  }


  const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const label = (event: EventEnvelope) => (event.type === 'message.status' ? String(event.data.status) : event.type);

  beforeAll(async () => {
    ({ cluster, fleet, session, a, b, c } = await sessionOnThreeReplicas('messages', SESSION, PHONE_PREFIX));
  }, 90_000);

  afterEach(() => clients.splice(0).forEach((client) => client.close()));

  afterAll(async () => {
    await fleet?.close();
    await cluster?.stop();
  }, 30_000);

  it("sends through a replica that does not own the session; clients via nginx and on a third replica see sent, delivered, read in seq order", async () => {
    const viaNginx = await connect(cluster.url);
    const onC = await connect(c.url);
    for (const client of [viaNginx, onC]) {
      expect(await client.subscribe({ sessions: [SESSION], afterSeq: { [SESSION]: 0 } })).toMatchObject({ sessions: [{ id: session.id, afterSeq: 0 }] });
    }

    const answer = await send(b.url, { kind: 'text', text: 'hello across replicas' }, '?wait=read&timeout=20000');
    expect(answer).toMatchObject({ status: 201, body: { status: 'read', text: 'hello across replicas', chat: FRIEND_JID, direction: 'out', fromMe: true } });
    // The recipient's phone decrypts a little after it took the message.
    const received = await until('the recipient got it and decrypted it', async () => (await atFriend()).find((message) => message.id === answer.body.waId && message.content));
    expect(received.content).toMatchObject({ kind: 'text', text: 'hello across replicas' });

    const log = await eventLog();
    const logged = log.filter((event) => event.data?.id === answer.body.id);
    expect(logged.map(label)).toEqual(['message.sent', 'delivered', 'read']);
    for (const client of [viaNginx, onC]) {
      await client.waitFor('read on the client', (events) => events.some((event) => event.data?.id === answer.body.id && event.data.status === 'read'));
      const mine = client.events.filter((event) => event.data?.id === answer.body.id);
      expect(mine.map(label)).toEqual(['message.sent', 'delivered', 'read']);
      expect(mine.map((event) => event.seq)).toEqual(logged.map((event) => event.seq));
      const seqs = mine.map((event) => event.seq);
      expect(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!).toBe(true);
      // Whatever else the session logged around them, the client has every seq up to the read, once, in order.
      const upToRead = client.seqsOf(session.id).filter((seq) => seq <= seqs[2]!);
      expect(upToRead).toEqual(oneTo(seqs[2]!));
    }
  }, 30_000);

  it('sends once for one Idempotency-Key raced on two replicas, both answering the same', async () => {
    const text = 'raced on two replicas';
    const before = (await sentToFriend())[FRIEND_JID] ?? 0;
    const headers = { 'Idempotency-Key': 'cluster-race-1' };
    const [onOwner, onOther]: Answer[] = await Promise.all([send(a.url, { kind: 'text', text }, '', headers), send(b.url, { kind: 'text', text }, '', headers)]);
    expect(onOwner).toMatchObject({ status: 202, body: { status: 'pending' } });
    expect(onOther.status).toBe(onOwner.status);
    expect(onOther.body).toEqual(onOwner.body);

    await until('the recipient got it', async () => (await atFriend()).some((message) => message.id === onOwner.body.waId));
    // A second copy would go out right after the first: give it the time to show up before counting.
    await sleep(1_000);
    expect((await sentToFriend())[FRIEND_JID]).toBe(before + 1);
    expect((await atFriend()).filter((message) => message.content?.text === text)).toHaveLength(1);
    const page = await fleet.call(`/sessions/${SESSION}/messages?chat=${FRIEND}&limit=200`);
    expect((page.body.data as { text: string }[]).filter((message) => message.text === text)).toHaveLength(1);
  }, 30_000);

  it("replays exactly what a reconnecting client missed while the owner was killed mid-traffic: every seq once, in order", async () => {
    const first = await connect(cluster.url);
    await first.subscribe({ sessions: [SESSION], afterSeq: { [SESSION]: 0 } });

    // Another phone writes to the account every 100 ms for the whole failover.
    const delivered: string[] = [];
    let pumping = true;
    let lastSeq = 0;
    const pump = (async () => {
      for (let n = 0; pumping; n++) {
        const accepted = await sim<{ id: string }>(`/accounts/${PHONE}/messages`, { method: 'POST', body: { from: SENDER, text: `inbound ${n}` } });
        delivered.push(accepted.id);
        await sleep(INBOUND_EVERY_MS);
      }
    })();

    let away: Answer;
    try {
      await first.waitFor('three inbound messages live', (events) => events.filter((event) => event.type === 'message.received').length >= 3);
      // Sent, and not delivered before the kill: its phone is offline.
      await sim(`/recipients/${AWAY}/fail`, { method: 'POST', body: { mode: 'offline' } });
      away = await send(b.url, { to: AWAY, kind: 'text', text: 'read while nobody owns the session' }, '?wait=sent&timeout=20000');
      expect(away).toMatchObject({ status: 201, body: { status: 'sent' } });
      first.close();
      const had = first.seqsOf(session.id);
      lastSeq = had.at(-1)!;
      expect(had).toEqual(oneTo(lastSeq));

      const before = await fleet.simStats();
      expect(await a.kill()).toBe(137);
      // Its phone comes online and reads it while the account has no connection: WhatsApp keeps those receipts.
      await until('wa-sim saw the killed owner go', async () => (await sim<{ data: { phone: string; live: number }[] }>('/accounts')).data.find((account) => account.phone === PHONE)?.live === 0);
      await sim(`/recipients/${AWAY}/fail`, { method: 'DELETE', body: {} });
      await fleet.waitForTakeover([session], a.instanceId, before.logins, LEASE_TTL_MS + 15_000);
      // Keep writing to the new owner for a while, then let everything delivered be acknowledged.
      await sleep(1_000);
    } finally {
      pumping = false;
      await pump;
    }
    // A copy redelivered to the new owner of a message the killed one had decrypted (its Signal key used and
    // saved) cannot be decrypted again: Baileys refuses it. The new owner reports it from what the killed one
    // staged, unless the kill came between the key write and the staging write.
    await until('wa-sim saw every inbound message acknowledged or refused', async () =>
      (await sim<{ data: SimInboxMessage[] }>(`/accounts/${PHONE}/inbox`)).data.every((message) => message.status === 'acked' || message.status === 'refused'),
    );
    // Baileys acknowledges before wafleet stores: give the last acknowledged ones the time to be stored.
    const ids = new Set(delivered);
    const storedIds = async () => (await eventLog()).filter((event) => event.type === 'message.received' && ids.has(String(event.data.waId))).map((event) => String(event.data.waId));
    await until('every inbound message stored', async () => (await storedIds()).length >= ids.size, 5_000).catch(() => undefined);

    const again = await connect(cluster.url);
    expect(await again.subscribe({ sessions: [SESSION], afterSeq: { [SESSION]: lastSeq } })).toMatchObject({ sessions: [{ id: session.id, afterSeq: lastSeq }] });
    let log = await eventLog();
    await again.waitFor(`seq ${log.at(-1)!.seq} after reconnecting`, (events) => events.some((event) => event.seq >= log.at(-1)!.seq));
    // Anything sent twice would arrive right behind: wait a moment, then take the log as it is now.
    await sleep(500);
    log = await eventLog();
    await again.waitFor(`seq ${log.at(-1)!.seq} after reconnecting`, (events) => events.some((event) => event.seq >= log.at(-1)!.seq));
    const n = log.at(-1)!.seq;

    expect(log.map((event) => event.seq)).toEqual(oneTo(n));
    expect([...first.seqsOf(session.id), ...again.seqsOf(session.id)]).toEqual(oneTo(n));
    expect(again.events.map((event) => event.id)).toEqual(log.filter((event) => event.seq > lastSeq).map((event) => event.id));

    const stored = await storedIds();
    expect(new Set(stored).size).toBe(stored.length);
    const missing = delivered.filter((id) => !stored.includes(id));
    const inbox = (await sim<{ data: SimInboxMessage[] }>(`/accounts/${PHONE}/inbox`)).data;
    const redelivered = inbox.filter((message) => message.deliveries > 1).length;
    const refused = inbox.filter((message) => message.status === 'refused').map((message) => message.id);
    const takeover = log.filter((event) => event.seq > lastSeq && event.type === 'session.status').map((event) => event.data.status);
    console.log(
      `owner ${a.instanceId} killed: wa-sim delivered ${delivered.length} inbound messages, ${stored.length} stored as message.received` +
        `, ${missing.length} missing${missing.length ? ` (${missing.join(', ')})` : ''}, ${redelivered} delivered twice, ${refused.length} refused; log 1..${n}, client had 1..${lastSeq} and replayed ${again.events.length}` +
        `; statuses after the kill: ${takeover.join(' → ')}`,
    );
    // Nothing WhatsApp counts as delivered is lost: Baileys acknowledges a message before it is stored, but
    // after its plaintext is staged, and the new owner reports what was staged and not stored. What may be
    // lost is one message in flight at the kill whose keys were saved and whose plaintext was not: WhatsApp
    // holds it unacknowledged (the one refused), and a real phone sends it again when asked to (wa-sim does not).
    expect(missing.length).toBeLessThanOrEqual(1);
    expect(missing.every((id) => refused.includes(id))).toBe(true);

    // The receipts that came while no replica owned the session reached the new owner at its login.
    const awayId = String(away!.body.id);
    const read = await until('the message sent before the kill was read', async () => {
      const message = await fleet.call(`/sessions/${SESSION}/messages/${awayId}`);
      return message.body.status === 'read' ? message.body : undefined;
    });
    expect(read).toMatchObject({ id: awayId, chat: `${AWAY}@s.whatsapp.net`, status: 'read' });
    // Baileys may fold receipts that wait offline into one update: delivered is then implied by read.
    const awayEvents = (await eventLog()).filter((event) => event.data?.id === awayId).map(label);
    expect([['message.sent', 'delivered', 'read'], ['message.sent', 'read']]).toContainEqual(awayEvents);
  }, 60_000);
});
