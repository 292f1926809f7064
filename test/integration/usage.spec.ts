import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { loadConfig } from '@wafleet/config';
import { countMessageUsage } from '@wafleet/billing';
import { Registry } from 'prom-client';
import { ApiCallUsage } from '../../libs/billing/src/api-call-usage';
import { BillingMetrics } from '../../libs/billing/src/billing.metrics';
import { migratedDatabase, type TestDatabase } from '../support/postgres';

/** usage_daily on PostgreSQL: concurrent upserts add up exactly, and API call flushes from several replicas too. */
describe('usage figures on PostgreSQL', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let tenantId: string;
  const replicas: DataSource[] = [];
  const config = loadConfig({ DATABASE_URL: 'postgres://unused/x', ADMIN_API_KEY: 'x'.repeat(32), LOG_LEVEL: 'silent' });
  const today = () => new Date().toISOString().slice(0, 10);
  const row = async (tenant = tenantId) =>
    (await database.query(`SELECT messages_sent::int AS sent, messages_received::int AS received, api_calls::int AS calls FROM usage_daily WHERE tenant_id = $1`, [tenant]))[0];

  beforeAll(async () => {
    ({ database, dataSource, tenantId } = await migratedDatabase());
    for (let i = 0; i < 2; i++) replicas.push(await new DataSource({ type: 'postgres', url: database.url, extra: { max: 4 } }).initialize());
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.destroy()));
    await dataSource?.destroy();
    await database?.drop();
  });

  it('40 concurrent transactions counting messages add exactly 40, and a rolled-back one adds nothing', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        replicas[i % 2]!.transaction((manager) => countMessageUsage(manager, tenantId, i % 4 === 0 ? 'messages_received' : 'messages_sent')),
      ),
    );
    await expect(
      dataSource.transaction(async (manager) => {
        await countMessageUsage(manager, tenantId, 'messages_sent');
        throw new Error('the message write failed');
      }),
    ).rejects.toThrow('the message write failed');
    expect(await row()).toEqual({ sent: 30, received: 10, calls: 0 });
    const [day] = await database.query(`SELECT to_char(day, 'YYYY-MM-DD') AS day FROM usage_daily WHERE tenant_id = $1`, [tenantId]);
    expect(day!.day).toBe(today());
  });

  it('two replicas flushing API calls at the same time add up exactly; a failed flush keeps its counts for the next', async () => {
    const [a, b] = replicas.map((replica) => new ApiCallUsage(replica, config, new BillingMetrics(new Registry())));
    const other = randomUUID();
    await database.query(`INSERT INTO tenants (id, name) VALUES ($1, 'other')`, [other]);
    for (let i = 0; i < 250; i++) a!.count(i % 5 ? tenantId : other);
    for (let i = 0; i < 150; i++) b!.count(i % 3 ? other : tenantId);
    await Promise.all([a!.flush(), b!.flush()]);
    expect((await row())!.calls).toBe(200 + 50);
    expect((await row(other))!.calls).toBe(50 + 100);

    await database.query(`ALTER TABLE usage_daily RENAME TO usage_daily_away`);
    a!.count(tenantId);
    a!.count(tenantId);
    await a!.flush();
    await database.query(`ALTER TABLE usage_daily_away RENAME TO usage_daily`);
    a!.count(tenantId);
    await a!.flush();
    expect((await row())!.calls).toBe(253);
  });

  it("drops calls of a deleted tenant without failing the others in the batch", async () => {
    const gone = randomUUID();
    await database.query(`INSERT INTO tenants (id, name) VALUES ($1, 'gone')`, [gone]);
    const usage = new ApiCallUsage(replicas[0]!, config, new BillingMetrics(new Registry()));
    usage.count(gone);
    usage.count(tenantId);
    await database.query(`DELETE FROM tenants WHERE id = $1`, [gone]);
    await usage.flush();
    expect((await row())!.calls).toBe(254);
    expect(await row(gone)).toBeUndefined();
  });
});
