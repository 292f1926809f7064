import { ConflictError, NotFoundError } from '@wafleet/core';

export class WebhookNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('webhook_not_found', `No webhook ${JSON.stringify(id)}.`);
  }
}

export class DeliveryNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('webhook_delivery_not_found', `No delivery ${JSON.stringify(id)} for this webhook.`);
  }
}

/** The tenant has WEBHOOK_MAX_PER_TENANT subscriptions already. */
export class WebhookLimitError extends ConflictError {
  constructor(limit: number) {
    super('webhook_limit_reached', `This tenant has ${limit} webhooks, the most WEBHOOK_MAX_PER_TENANT allows; delete one first.`, { limit });
  }
}

/** A delivery is being attempted right now; retrying it would make a second attempt run alongside. */
export class DeliveryInFlightError extends ConflictError {
  constructor(id: string) {
    super('webhook_delivery_in_flight', `Delivery ${JSON.stringify(id)} is delivering; retry it once that attempt has ended.`, { status: 'delivering' });
  }
}

/** Deliveries of a disabled subscription are not attempted; enable it first. */
export class WebhookDisabledError extends ConflictError {
  constructor(id: string) {
    super('webhook_disabled', `Webhook ${JSON.stringify(id)} is disabled; enable it (PATCH enabled: true) before retrying its deliveries.`, { enabled: false });
  }
}
