import { Injectable } from '@nestjs/common';
import { decodeCursor, toPage, ValidationFailedError, type Page } from '@wafleet/core';
import { DataSource, type EntityManager } from 'typeorm';
import type { CheckedRecipient } from './recipient-list';
import { CAMPAIGN_COLUMNS, toCampaignView, type CampaignProgress, type CampaignRow, type CampaignStatus, type CampaignView, type RecipientState, type RecipientView, type StoredTemplate } from './campaign.view';

export interface NewCampaign {
  id: string;
  tenantId: string;
  sessionId: string;
  name: string;
  status: CampaignStatus;
  template: StoredTemplate;
  mediaData: Buffer | null;
  perMinute: number;
  jitterPercent: number;
  startAt: Date | null;
}

/** A recipient's state from its message's status; `m` is the message joined to recipient `r`. */
export const RECIPIENT_STATE_SQL = `CASE WHEN r.message_id IS NULL THEN 'pending' WHEN m.status = 'pending' THEN 'queued'
  WHEN m.status IN ('read', 'played') THEN 'read' WHEN m.status IN ('sent', 'delivered') THEN m.status ELSE 'failed' END`;

const EMPTY: CampaignProgress = { total: 0, sent: 0, delivered: 0, read: 0, failed: 0, pending: 0 };

/** Progress of each campaign, by one aggregate over its recipients joined to their messages. */
export async function progressOf(manager: EntityManager, campaignIds: string[]): Promise<Map<string, CampaignProgress>> {
  const rows: (Omit<CampaignProgress, 'pending'> & { campaign_id: string })[] = await manager.query(
    `SELECT r.campaign_id, count(*)::int AS total,
       count(*) FILTER (WHERE m.status IN ('sent', 'delivered', 'read', 'played'))::int AS sent,
       count(*) FILTER (WHERE m.status IN ('delivered', 'read', 'played'))::int AS delivered,
       count(*) FILTER (WHERE m.status IN ('read', 'played'))::int AS read,
       count(*) FILTER (WHERE m.status = 'failed' OR (r.message_id IS NOT NULL AND m.id IS NULL))::int AS failed
     FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
     WHERE r.campaign_id = ANY($1::uuid[]) GROUP BY r.campaign_id`,
    [campaignIds],
  );
  const progress = new Map(campaignIds.map((id) => [id, { ...EMPTY }]));
  for (const { campaign_id, ...counts } of rows) progress.set(campaign_id, { ...counts, pending: counts.total - counts.sent - counts.failed });
  return progress;
}

/** The `campaigns` and `campaign_recipients` tables, as the API side reads and writes them. */
@Injectable()
export class CampaignStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes the campaign and its first recipients in one transaction. @returns how many recipients were new */
  async insert(campaign: NewCampaign, recipients: CheckedRecipient[]): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO campaigns (id, tenant_id, session_id, name, status, template, media_data, per_minute, jitter_percent, start_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)`,
        [campaign.id, campaign.tenantId, campaign.sessionId, campaign.name, campaign.status, JSON.stringify(campaign.template), campaign.mediaData, campaign.perMinute, campaign.jitterPercent, campaign.startAt],
      );
      return this.appendRecipients(manager, campaign.id, 0, recipients);
    });
  }

  /**
   * Adds recipients while the campaign's status is one of `editable`, under the campaign's row lock so
   * concurrent uploads number them one after another; a JID already there is skipped.
   * @returns the status it had, and how many recipients were new (undefined when not editable)
   */
  async addRecipients(
    tenantId: string,
    id: string,
    recipients: CheckedRecipient[],
    editable: readonly CampaignStatus[],
    check: (total: number) => void,
  ): Promise<{ status: CampaignStatus; added?: number } | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: { status: CampaignStatus; total: number }[] = await manager.query(`SELECT status, total FROM campaigns WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [id, tenantId]);
      if (!row) return undefined;
      if (!editable.includes(row.status)) return { status: row.status };
      check(row.total + recipients.length);
      const [{ next }]: { next: number }[] = await manager.query(`SELECT COALESCE(max(position) + 1, 0)::int AS next FROM campaign_recipients WHERE campaign_id = $1`, [id]);
      return { status: row.status, added: await this.appendRecipients(manager, id, next, recipients) };
    });
  }

  private async appendRecipients(manager: EntityManager, id: string, from: number, recipients: CheckedRecipient[]): Promise<number> {
    let added = 0;
    // Batches keep each statement's parameters small however long the list.
    for (let i = 0; i < recipients.length; i += 5_000) {
      const batch = recipients.slice(i, i + 5_000);
      const inserted: unknown[] = await manager.query(
        `WITH inserted AS (
           INSERT INTO campaign_recipients (campaign_id, position, jid, variables)
           SELECT $1, $2 + n - 1, jid, variables::jsonb FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS given (jid, variables, n)
           ON CONFLICT (campaign_id, jid) DO NOTHING RETURNING 1)
         SELECT * FROM inserted`,
        [id, from + i, batch.map((r) => r.jid), batch.map((r) => JSON.stringify(r.variables))],
      );
      added += inserted.length;
    }
    await manager.query(`UPDATE campaigns SET total = total + $2, updated_at = now() WHERE id = $1`, [id, added]);
    return added;
  }

  async find(tenantId: string, id: string): Promise<CampaignRow | undefined> {
    const [row]: CampaignRow[] = await this.dataSource.query(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
    return row;
  }

  async view(row: CampaignRow): Promise<CampaignView> {
    return toCampaignView(row, (await progressOf(this.dataSource.manager, [row.id])).get(row.id)!);
  }

  /** Newest first. */
  async list(tenantId: string, limit: number, cursor?: string): Promise<Page<CampaignView>> {
    const params: unknown[] = [tenantId, limit + 1];
    let where = 'tenant_id = $1';
    if (cursor) {
      const position = decodeCursor(cursor);
      where += ` AND (created_at, id) < ($${params.push(position.createdAt)}, $${params.push(position.id)}::uuid)`;
    }
    const rows: CampaignRow[] = await this.dataSource.query(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $2`, params);
    const progress = await progressOf(this.dataSource.manager, rows.map((row) => row.id));
    return toPage(
      rows.map((row) => ({ ...row, createdAt: row.created_at })),
      limit,
      (row) => toCampaignView(row, progress.get(row.id)!),
    );
  }

  /** In list order; the cursor is the position after which the page starts. */
  async recipients(campaignId: string, state: RecipientState | undefined, limit: number, cursor?: string): Promise<Page<RecipientView>> {
    const after = cursor === undefined ? -1 : decodePosition(cursor);
    const rows: { position: number; jid: string; variables: Record<string, string>; state: RecipientState; message_id: string | null; queued_at: Date | null }[] =
      await this.dataSource.query(
        `SELECT * FROM (
           SELECT r.position, r.jid, r.variables, r.message_id, r.queued_at, ${RECIPIENT_STATE_SQL} AS state
           FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
           WHERE r.campaign_id = $1 AND r.position > $2) listed
         WHERE $3::text IS NULL OR state = $3 ORDER BY position LIMIT $4`,
        [campaignId, after, state ?? null, limit + 1],
      );
    const shown = rows.slice(0, limit);
    return {
      data: shown.map((row) => ({ position: row.position, jid: row.jid, variables: row.variables, state: row.state, messageId: row.message_id, queuedAt: row.queued_at?.toISOString() ?? null })),
      nextCursor: rows.length > limit ? Buffer.from(`recipients|${shown[shown.length - 1]!.position}`).toString('base64url') : null,
    };
  }

  /** Deletes the campaign unless its status is one of `kept`. @returns its status, or undefined when there is none */
  async delete(tenantId: string, id: string, kept: readonly CampaignStatus[]): Promise<{ status: CampaignStatus; deleted: boolean } | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [row]: { status: CampaignStatus }[] = await manager.query(`SELECT status FROM campaigns WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [id, tenantId]);
      if (!row) return undefined;
      if (kept.includes(row.status)) return { status: row.status, deleted: false };
      await manager.query(`DELETE FROM campaigns WHERE id = $1`, [id]);
      return { status: row.status, deleted: true };
    });
  }
}

function decodePosition(cursor: string): number {
  const [tag, raw] = Buffer.from(cursor, 'base64url').toString().split('|');
  const position = Number(raw);
  if (tag !== 'recipients' || !Number.isInteger(position) || position < 0) throw new ValidationFailedError([{ field: 'cursor', problems: ['cursor is not one this API returned'] }]);
  return position;
}
