import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { RetentionSweep } from '@wafleet/core';
import { WebhookOutbox } from './webhook-outbox';

/** Deletes ended webhook deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS, hourly, on every replica. */
@Injectable()
export class DeliveryRetention extends RetentionSweep {
  constructor(outbox: WebhookOutbox, config: AppConfig) {
    super({ what: 'ended webhook deliveries', days: config.retention.webhookDeliveryDays, deleteBatch: (days, limit) => outbox.prune(days, limit) });
  }
}
