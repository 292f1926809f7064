import { Injectable } from '@nestjs/common';
import { decodeCursor, isUuid, toPage, ValidationFailedError, type Page } from '@wafleet/core';
import { DataSource } from 'typeorm';
import { WebhookWorker } from './webhook-worker';
import { DELIVERY_COLUMNS, deliveryView, type DeliveryRow, type DeliveryView } from './webhook.view';
import type { DeliveryStatus, RetryDeliveriesDto } from './webhooks.dto';
import { DeliveryInFlightError, DeliveryNotFoundError, WebhookDisabledError } from './webhooks.errors';
import { WebhooksService } from './webhooks.service';

/**
 * The deliveries of one subscription: listed newest first, read one by one, and retried or replayed on
 * request. A retry makes the delivery due now with its attempts reset to 0, so it gets the whole retry
 * schedule again, under the same webhook-id. A delivery being attempted is never retried alongside.
 */
@Injectable()
export class WebhookDeliveriesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly webhooks: WebhooksService,
    private readonly worker: WebhookWorker,
  ) {}

  async list(tenantId: string, webhookId: string, status: DeliveryStatus | undefined, limit: number, cursor?: string): Promise<Page<DeliveryView>> {
    const subscription = await this.webhooks.find(this.dataSource.manager, tenantId, webhookId);
    const before = cursor ? decodeCursor(cursor) : undefined;
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
       WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
         AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $5`,
      [subscription.id, status ?? null, before?.createdAt ?? null, before?.id ?? null, limit + 1],
    );
    return toPage(rows.map((row) => ({ ...row, createdAt: row.created_at })), limit, deliveryView);
  }

  async get(tenantId: string, webhookId: string, deliveryId: string): Promise<DeliveryView> {
    const subscription = await this.webhooks.find(this.dataSource.manager, tenantId, webhookId);
    return deliveryView(await this.find(subscription.id, deliveryId));
  }

  async retry(tenantId: string, webhookId: string, deliveryId: string): Promise<DeliveryView> {
    const subscription = await this.webhooks.find(this.dataSource.manager, tenantId, webhookId);
    if (!subscription.enabled) throw new WebhookDisabledError(webhookId);
    const current = await this.find(subscription.id, deliveryId);
    const [row] = await this.reset(subscription.id, { ids: [current.id] });
    if (!row) throw new DeliveryInFlightError(deliveryId);
    this.worker.announce();
    return deliveryView(row);
  }

  /** Retries every delivery of a status, or the listed ones (those being attempted are skipped). */
  async retryMany(tenantId: string, webhookId: string, dto: RetryDeliveriesDto): Promise<{ retried: number; ids: string[] }> {
    if ((dto.ids === undefined) === (dto.status === undefined)) {
      throw new ValidationFailedError([{ field: 'ids', problems: ['give either status or ids, not both'] }]);
    }
    const subscription = await this.webhooks.find(this.dataSource.manager, tenantId, webhookId);
    if (!subscription.enabled) throw new WebhookDisabledError(webhookId);
    const rows = await this.reset(subscription.id, dto.ids ? { ids: dto.ids } : { status: dto.status! });
    if (rows.length > 0) this.worker.announce();
    return { retried: rows.length, ids: rows.map((row) => row.id) };
  }

  private async find(subscriptionId: string, deliveryId: string): Promise<DeliveryRow> {
    const [row]: DeliveryRow[] = isUuid(deliveryId)
      ? await this.dataSource.query(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND subscription_id = $2`, [deliveryId, subscriptionId])
      : [];
    if (!row) throw new DeliveryNotFoundError(deliveryId);
    return row;
  }

  private reset(subscriptionId: string, which: { ids: string[] } | { status: string }): Promise<DeliveryRow[]> {
    return this.dataSource.query(
      `WITH reset AS (
         UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), claimed_by = NULL, claim_expires_at = NULL
         WHERE subscription_id = $1 AND status <> 'delivering' AND ($2::uuid[] IS NULL OR id = ANY ($2::uuid[])) AND ($3::text IS NULL OR status = $3)
         RETURNING ${DELIVERY_COLUMNS})
       SELECT * FROM reset`,
      [subscriptionId, 'ids' in which ? which.ids : null, 'status' in which ? which.status : null],
    );
  }
}
