import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { MessageLinks1764700000000 } from '../../libs/database/src/migrations/1764700000000-message-links';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

/**
 * The message-links migration on a database that has messages waiting: those of a linked session belong
 * to its account, a campaign's on a session not linked yet to whichever link comes, those a logout left to
 * none, and nothing else is stamped.
 */
describe('the message-links migration on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('stamps what waits with the account its session is linked to, or with none', async () => {
    const runner = dataSource.createQueryRunner();
    const migration = new MessageLinks1764700000000();
    try {
      await migration.down(runner);
      const linked = randomUUID();
      const loggedOut = randomUUID();
      await database.query(`INSERT INTO sessions (id, tenant_id, name, me) VALUES ($1, $3, 'linked', '{"id":"ana:3@s.whatsapp.net"}'), ($2, $3, 'out', NULL)`, [linked, loggedOut, tenantId]);
      const message = async (sessionId: string, status: string, direction = 'out') => {
        const id = randomUUID();
        await database.query(
          `INSERT INTO messages (id, tenant_id, session_id, wa_id, chat, from_me, direction, kind, body, content, status)
           VALUES ($1, $2, $3, $4, 'x@s.whatsapp.net', $5, $6, 'text', 'b', '{}'::jsonb, $7)`,
          [id, tenantId, sessionId, `W-${id}`, direction === 'out', direction, status],
        );
        return id;
      };
      const waiting = await message(linked, 'pending');
      const sent = await message(linked, 'sent');
      const leftByLogout = await message(loggedOut, 'pending');
      const received = await message(linked, 'received', 'in');
      // A campaign on a session never linked yet, and one on a session a logout left.
      const neverLinked = randomUUID();
      await database.query(`INSERT INTO sessions (id, tenant_id, name, status) VALUES ($1, $2, 'new', 'scan_qr')`, [neverLinked, tenantId]);
      await database.query(`UPDATE sessions SET status = 'logged_out' WHERE id = $1`, [loggedOut]);
      const early = await message(neverLinked, 'pending');
      const leftCampaign = await message(loggedOut, 'pending');
      for (const [sessionId, current] of [[neverLinked, early], [loggedOut, leftCampaign]] as const) {
        await database.query(
          `INSERT INTO campaigns (id, tenant_id, session_id, name, status, template, per_minute, current_message_id) VALUES ($1, $2, $3, 'c', 'running', '{"kind":"text","text":"x"}'::jsonb, 60, $4)`,
          [randomUUID(), tenantId, sessionId, current],
        );
      }
      await migration.up(runner);
      const links = await database.query<{ id: string; link: string | null }>(`SELECT id, link FROM messages WHERE id = ANY($1::uuid[])`, [[waiting, sent, leftByLogout, received, early, leftCampaign]]);
      expect(Object.fromEntries(links.map((row) => [row.id, row.link]))).toEqual({
        [waiting]: 'ana:3@s.whatsapp.net',
        [sent]: null,
        [leftByLogout]: '',
        [received]: null,
        [early]: null,
        [leftCampaign]: '',
      });
    } finally {
      await runner.release();
    }
  });
});
