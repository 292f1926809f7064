import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { decodeCursor, isUuid, toPage, ValidationFailedError, type Page } from '@wafleet/core';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { WebhookOutbox } from './webhook-outbox';
import { isSecret, newSecret } from './webhook-secret';
import { resolveTarget, TargetRefused } from './webhook-target';
import { SUBSCRIPTION_COLUMNS, webhookView, type SubscriptionRow, type WebhookView } from './webhook.view';
import type { CreateWebhookDto, UpdateWebhookDto } from './webhooks.dto';
import { WebhookLimitError, WebhookNotFoundError } from './webhooks.errors';

const invalid = (field: string, problem: string) => new ValidationFailedError([{ field, problems: [problem] }]);
const DISABLED_BY_CALLER = 'disabled through the API';

/**
 * Webhook subscriptions of a tenant: create (the secret shown once), list, read, change, delete, and
 * rotate the secret with an overlap during which the previous one signs too. Another tenant's
 * subscription is "not found", as one that does not exist.
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly outbox: WebhookOutbox,
  ) {}

  async create(tenantId: string, dto: CreateWebhookDto): Promise<WebhookView> {
    await this.checkUrl(dto.url);
    const secret = this.checkSecret(dto.secret);
    const sessionIds = dto.sessions ? await this.sessionIds(tenantId, dto.sessions) : null;
    const row = await this.dataSource.transaction(async (manager) => {
      // The tenant's row lock orders concurrent creates, so the limit holds under races.
      await manager.query(`SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, [tenantId]);
      const [{ count }]: { count: number }[] = await manager.query(`SELECT count(*)::int AS count FROM webhook_subscriptions WHERE tenant_id = $1`, [tenantId]);
      if (count >= this.config.webhooks.maxPerTenant) throw new WebhookLimitError(this.config.webhooks.maxPerTenant);
      const [created]: SubscriptionRow[] = await manager.query(
        `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, session_ids, enabled, secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${SUBSCRIPTION_COLUMNS}`,
        [randomUUID(), tenantId, dto.url, unique(dto.events), sessionIds, dto.enabled ?? true, secret],
      );
      return created!;
    });
    return { ...webhookView(row), secret };
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<Page<WebhookView>> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows: SubscriptionRow[] = await this.dataSource.query(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions
       WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
       ORDER BY created_at, id LIMIT $4`,
      [tenantId, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    return toPage(rows.map((row) => ({ ...row, createdAt: row.created_at })), limit, webhookView);
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    return webhookView(await this.find(this.dataSource.manager, tenantId, id));
  }

  async update(tenantId: string, id: string, dto: UpdateWebhookDto): Promise<WebhookView> {
    const current = await this.find(this.dataSource.manager, tenantId, id);
    if (dto.url !== undefined) await this.checkUrl(dto.url);
    const sessionIds = dto.sessions === undefined ? current.session_ids : dto.sessions === null ? null : await this.sessionIds(tenantId, dto.sessions);
    const enabled = dto.enabled ?? current.enabled;
    const [row]: SubscriptionRow[] = await this.dataSource.query(
      `WITH changed AS (
         UPDATE webhook_subscriptions SET url = $3, events = $4, session_ids = $5, enabled = $6,
           disabled_reason = CASE WHEN $6 THEN NULL WHEN enabled THEN $7 ELSE disabled_reason END, updated_at = now()
         WHERE id = $1 AND tenant_id = $2 RETURNING ${SUBSCRIPTION_COLUMNS})
       SELECT * FROM changed`,
      [current.id, tenantId, dto.url ?? current.url, dto.events ? unique(dto.events) : current.events, sessionIds, enabled, DISABLED_BY_CALLER],
    );
    if (!row) throw new WebhookNotFoundError(id);
    if (!enabled && current.enabled) await this.outbox.disableSubscriptions([row.id], DISABLED_BY_CALLER);
    return webhookView(row);
  }

  /** Deletes the subscription and, with it, its deliveries. */
  async delete(tenantId: string, id: string): Promise<void> {
    const current = await this.find(this.dataSource.manager, tenantId, id);
    await this.dataSource.query(`DELETE FROM webhook_subscriptions WHERE id = $1 AND tenant_id = $2`, [current.id, tenantId]);
  }

  /**
   * A new secret, shown once. The one it replaces keeps signing beside it for WEBHOOK_SECRET_OVERLAP_MS
   * (a rotation during an overlap ends the older overlap: only the last two secrets sign).
   */
  async rotateSecret(tenantId: string, id: string, given?: string): Promise<WebhookView> {
    const secret = this.checkSecret(given);
    const current = await this.find(this.dataSource.manager, tenantId, id);
    const [row]: SubscriptionRow[] = await this.dataSource.query(
      `WITH rotated AS (
         UPDATE webhook_subscriptions SET previous_secret = secret, secret = $3,
           previous_secret_until = now() + $4 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND tenant_id = $2 RETURNING ${SUBSCRIPTION_COLUMNS})
       SELECT * FROM rotated`,
      [current.id, tenantId, secret, this.config.webhooks.secretOverlapMs],
    );
    if (!row) throw new WebhookNotFoundError(id);
    return { ...webhookView(row), secret };
  }

  /** The tenant's subscription, or 404. */
  async find(manager: EntityManager, tenantId: string, id: string): Promise<SubscriptionRow> {
    const [row]: SubscriptionRow[] = isUuid(id)
      ? await manager.query(`SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1 AND tenant_id = $2`, [id, tenantId])
      : [];
    if (!row) throw new WebhookNotFoundError(id);
    return row;
  }

  private async checkUrl(url: string): Promise<void> {
    try {
      await resolveTarget(url, this.config.webhooks.allowPrivate);
    } catch (error) {
      if (error instanceof TargetRefused) throw invalid('url', error.message);
      throw error;
    }
  }

  private checkSecret(given?: string): string {
    if (given === undefined) return newSecret();
    if (!isSecret(given)) throw invalid('secret', 'secret must be whsec_ followed by the base64 of 24 to 64 bytes');
    return given;
  }

  /** The ids of the tenant's sessions named (by id or name); unknown ones are a 400 listing them. */
  private async sessionIds(tenantId: string, given: string[]): Promise<string[]> {
    const rows: { id: string; name: string }[] = await this.dataSource.query(
      `SELECT id, name FROM sessions WHERE tenant_id = $1 AND (id::text = ANY ($3::text[]) OR name = ANY ($2::text[]))`,
      [tenantId, given, given.map((ref) => ref.toLowerCase())],
    );
    const unknown = given.filter((ref) => !rows.some((row) => row.id === ref.toLowerCase() || row.name === ref));
    if (unknown.length > 0) throw invalid('sessions', `sessions names no session of this tenant: ${unknown.map((ref) => JSON.stringify(ref)).join(', ')}`);
    return unique(rows.map((row) => row.id));
  }
}

const unique = (values: string[]): string[] => [...new Set(values)];
