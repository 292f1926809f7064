import type { EntityManager } from 'typeorm';

export type MessageUsage = 'messages_sent' | 'messages_received';

/**
 * The body of a data-modifying CTE that adds each row of `source` (a CTE or table list with a
 * `tenant_id`) that `where` admits to its tenant's figure for today (UTC, by the database's clock). Put
 * it in the statement that records the message, so the figure moves exactly when the message's state
 * does, at no round trip of its own.
 */
export const countMessageUsageSql = (column: MessageUsage, source: string, where = 'true'): string =>
  `INSERT INTO usage_daily (tenant_id, day, ${column})
   SELECT tenant_id, (now() AT TIME ZONE 'UTC')::date, count(*) FROM ${source} WHERE ${where} GROUP BY tenant_id
   ON CONFLICT (tenant_id, day) DO UPDATE SET ${column} = usage_daily.${column} + EXCLUDED.${column}`;

/** Adds `by` messages to the tenant's figure for today, in `manager`'s transaction (see countMessageUsageSql). */
export async function countMessageUsage(manager: EntityManager, tenantId: string, column: MessageUsage, by = 1): Promise<void> {
  await manager.query(`WITH counted AS (SELECT $1::uuid AS tenant_id FROM generate_series(1, $2::int)) ${countMessageUsageSql(column, 'counted')}`, [tenantId, by]);
}
