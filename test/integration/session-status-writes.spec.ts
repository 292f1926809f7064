import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { EventLog, SessionEvents, SessionStatusWrites, type LinkChange, type SessionEvent } from '@wafleet/sessions';
import { migratedDatabase, type TestDatabase } from '../support/postgres';
import type { StatusPatch, StatusWriter } from '../../libs/sessions/src/session-status-writes';

const ANA = { id: '5511900000001:3@s.whatsapp.net', name: 'Ana' };
const BIA = { id: '5511900000002:7@s.whatsapp.net', name: 'Bia' };

/** Status writes on PostgreSQL: the row and its event under the epoch; link listeners told once a change of account committed. */
describe('session status writes on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  let statuses: SessionStatusWrites;
  const published: SessionEvent[] = [];
  /** What the listeners were told, and the account the database held then, in order. */
  const told: string[] = [];
  /** Sessions whose first listener throws every time, or only the first time. */
  const failing = new Set<string>();
  const failingOnce = new Set<string>();

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    const events = new SessionEvents();
    events.subscribe((event) => published.push(event));
    statuses = new SessionStatusWrites(new EventLog(dataSource, events));
    const committedMe = async (change: LinkChange) =>
      (await database.query<{ me: { id: string } | null }>(`SELECT me FROM sessions WHERE id = $1`, [change.sessionId]))[0]?.me?.id ?? 'none';
    statuses.onLinkChanged(async (change) => {
      if (failing.has(change.sessionId) || failingOnce.delete(change.sessionId)) throw new Error('the first listener failed');
      told.push(`first: ${change.me?.id ?? 'none'} (was ${change.previous?.id ?? 'none'}) at epoch ${change.epoch}, stored ${await committedMe(change)}`);
    });
    statuses.onLinkChanged(async (change) => void told.push(`second: ${change.me?.id ?? 'none'}`));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  async function session(): Promise<StatusWriter> {
    const id = randomUUID();
    await database.query(`INSERT INTO sessions (id, tenant_id, name, lease_epoch) VALUES ($1, $2, $3, 4)`, [id, tenantId, `s-${id}`]);
    return { session: { id }, epoch: '4', writes: Promise.resolve() };
  }

  async function record(writer: StatusWriter, patch: StatusPatch): Promise<void> {
    statuses.record(writer, patch);
    await writer.writes;
  }

  it('tells the link listeners, in order and once committed, of a pairing, a logout and a pairing to another account; not of a reconnect', async () => {
    const writer = await session();
    told.length = 0;
    await record(writer, { status: 'working', me: ANA });
    await record(writer, { status: 'working', me: { id: ANA.id, name: 'Ana S.' } });
    await record(writer, { status: 'logged_out', me: null, desiredState: 'stopped' });
    await record(writer, { status: 'scan_qr' });
    await record(writer, { status: 'working', me: BIA });
    expect(told).toEqual([
      `first: ${ANA.id} (was none) at epoch 4, stored ${ANA.id}`,
      `second: ${ANA.id}`,
      `first: none (was ${ANA.id}) at epoch 4, stored none`,
      'second: none',
      `first: ${BIA.id} (was none) at epoch 4, stored ${BIA.id}`,
      `second: ${BIA.id}`,
    ]);
    const statusesOf = published.filter((event) => event.sessionId === writer.session.id).map((event) => (event.data as { status: string }).status);
    expect(statusesOf).toEqual(['working', 'working', 'logged_out', 'scan_qr', 'working']);
  });

  it('tells no listener, and writes nothing, under an epoch that moved on', async () => {
    const writer = await session();
    await database.query(`UPDATE sessions SET lease_epoch = 5 WHERE id = $1`, [writer.session.id]);
    told.length = 0;
    await record(writer, { status: 'working', me: ANA });
    expect(told).toEqual([]);
    expect(await database.query(`SELECT status, me FROM sessions WHERE id = $1`, [writer.session.id])).toEqual([{ status: 'stopped', me: null }]);
  });

  it('tries a listener that throws again; keeps the write, and tells the next listener, when it keeps throwing', async () => {
    const writer = await session();
    failingOnce.add(writer.session.id);
    told.length = 0;
    await record(writer, { status: 'working', me: ANA });
    expect(told).toEqual([`first: ${ANA.id} (was none) at epoch 4, stored ${ANA.id}`, `second: ${ANA.id}`]);

    failing.add(writer.session.id);
    told.length = 0;
    await record(writer, { status: 'logged_out', me: null, desiredState: 'stopped' });
    await record(writer, { status: 'working', me: BIA });
    expect(told).toEqual(['second: none', `second: ${BIA.id}`]);
    expect(await database.query(`SELECT status, me FROM sessions WHERE id = $1`, [writer.session.id])).toEqual([{ status: 'working', me: BIA }]);
  });

  it('stores a push name holding NUL with U+FFFD in its place, rather than failing the write', async () => {
    const writer = await session();
    await record(writer, { status: 'working', me: { id: ANA.id, name: 'A\u0000na' } });
    expect(await database.query(`SELECT status, me FROM sessions WHERE id = $1`, [writer.session.id])).toEqual([{ status: 'working', me: { id: ANA.id, name: 'A\ufffdna' } }]);
    const [event] = published.filter((e) => e.sessionId === writer.session.id);
    expect(event?.data).toMatchObject({ status: 'working', me: { id: ANA.id, name: 'A\ufffdna' } });
  });
});
