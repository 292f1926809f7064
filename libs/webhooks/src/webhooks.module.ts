import { Module } from '@nestjs/common';
import { SessionsModule } from '@wafleet/sessions';
import { DeliveryRetention } from './delivery-retention';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookWorker } from './webhook-worker';
import { WebhookMetrics } from './webhook.metrics';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Webhook subscriptions, the transactional outbox written with each event, the delivery workers, and the deliveries' retention. */
@Module({
  imports: [SessionsModule],
  controllers: [WebhooksController],
  providers: [WebhookOutbox, WebhookSender, WebhookMetrics, WebhookWorker, WebhooksService, WebhookDeliveriesService, DeliveryRetention],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}
