import { DataSource } from 'typeorm';
import { migrate, MIGRATIONS } from '@wafleet/database';
import { createTestDatabase, TestDatabase } from '../support/postgres';

describe('migrations on PostgreSQL', () => {
  let database: TestDatabase;
  const sources: DataSource[] = [];
  beforeAll(async () => (database = await createTestDatabase()));
  afterAll(async () => {
    await Promise.all(sources.map((source) => source.destroy()));
    await database.drop();
  });

  it('run once when several replicas boot at the same moment', async () => {
    for (let i = 0; i < 4; i++) {
      sources.push(await new DataSource({ type: 'postgres', url: database.url, migrations: MIGRATIONS, extra: { max: 2 } }).initialize());
    }
    const applied = await Promise.all(sources.map((source) => migrate(source)));
    expect(applied.flat()).toEqual(MIGRATIONS.map((migration) => migration.name));
    const rows = await database.query<{ name: string }>('SELECT name FROM migrations');
    expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
    const tables = await database.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    );
    expect(tables.map((table) => table.table_name)).toEqual([
      'api_keys',
      'campaign_recipients',
      'campaigns',
      'chats',
      'inbound_stanzas',
      'message_uploads',
      'messages',
      'migrations',
      'plans',
      'session_auth_state',
      'session_events',
      'session_handoffs',
      'sessions',
      'tenants',
      'usage_daily',
      'webhook_deliveries',
      'webhook_subscriptions',
    ]);
  });

  it('apply nothing on the next boot', async () => {
    expect(await migrate(sources[0]!)).toEqual([]);
  });
});
