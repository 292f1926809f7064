import { MigrationInterface, QueryRunner } from 'typeorm';

export class MessageLinks1764700000000 implements MigrationInterface {
  name = 'MessageLinks1764700000000';

  async up(db: QueryRunner): Promise<void> {
    // The account (`sessions.me->>'id'`) an outgoing message was accepted for: only a link to that account
    // sends it. NULL: queued by a campaign while the session had no link, sent from the link it gets;
    // '': accepted for no link, never sent.
    await db.query(`ALTER TABLE messages ADD COLUMN link text`);
    // What waits now was accepted for the session's link of the moment. On an unlinked session, a campaign's
    // message waits for the first link, unless a logout left it; any other was left by a logout, and no
    // later link sends it.
    await db.query(
      `UPDATE messages m SET link = CASE
         WHEN s.me IS NOT NULL THEN s.me->>'id'
         WHEN s.status <> 'logged_out' AND EXISTS (SELECT 1 FROM campaigns c WHERE c.current_message_id = m.id) THEN NULL
         ELSE '' END
       FROM sessions s WHERE m.session_id = s.id AND m.status = 'pending' AND m.direction = 'out'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE messages DROP COLUMN link`);
  }
}
