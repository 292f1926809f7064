export { WebhooksModule } from './webhooks.module';
export { ENQUEUE_DELIVERIES_SQL, WebhookOutbox, bodyText } from './webhook-outbox';
export type { ClaimedDelivery, DeliveryOutcome, WebhookBody } from './webhook-outbox';
export { signatureHeaders, webhookIdOf, newSecret } from './webhook-secret';
export { decide, parseRetryAfter } from './retry-policy';
export type { AttemptResult, Decision } from './retry-policy';
