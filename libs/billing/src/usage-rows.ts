import type { EntityManager } from 'typeorm';

export type MessageUsage = 'messages_sent' | 'messages_received';

/**
 * Adds messages to the tenant's figure for today (UTC, by the database's clock). Call it in the
 * transaction that records the message, so the figure moves exactly when the message's state does.
 */
export async function countMessageUsage(manager: EntityManager, tenantId: string, column: MessageUsage, by = 1): Promise<void> {
  await manager.query(
    `INSERT INTO usage_daily (tenant_id, day, ${column}) VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2)
     ON CONFLICT (tenant_id, day) DO UPDATE SET ${column} = usage_daily.${column} + EXCLUDED.${column}`,
    [tenantId, by],
  );
}
