import { MigrationInterface, QueryRunner } from 'typeorm';

export class Retention1764600000000 implements MigrationInterface {
  name = 'Retention1764600000000';

  async up(db: QueryRunner): Promise<void> {
    // Rows are written in time order and the old ones are deleted by age (EVENT_RETENTION_DAYS,
    // WEBHOOK_DELIVERY_RETENTION_DAYS): a BRIN index finds them for a few pages of index, at almost no
    // cost to each insert.
    await db.query(`CREATE INDEX session_events_by_time ON session_events USING brin (occurred_at)`);
    await db.query(`CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries USING brin (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX webhook_deliveries_by_time`);
    await db.query(`DROP INDEX session_events_by_time`);
  }
}
