import { Module } from '@nestjs/common';
import { SessionsModule } from '@wafleet/sessions';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhookOutbox } from './webhook-outbox';
import { WebhookSender } from './webhook-sender';
import { WebhookWorker } from './webhook-worker';
import { WebhookMetrics } from './webhook.metrics';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Webhook subscriptions, the transactional outbox written with each event, and the delivery workers. */
@Module({
  imports: [SessionsModule],
  controllers: [WebhooksController],
  providers: [WebhookOutbox, WebhookSender, WebhookMetrics, WebhookWorker, WebhooksService, WebhookDeliveriesService],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}
