import { webhookIdOf } from './webhook-secret';
import type { DeliveryStatus } from './webhooks.dto';

export interface SubscriptionRow {
  id: string;
  url: string;
  events: string[];
  session_ids: string[] | null;
  enabled: boolean;
  disabled_reason: string | null;
  previous_secret_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A subscription as the API shows it; the secret only in the answers that set it. */
export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  sessions: string[] | null;
  enabled: boolean;
  disabledReason: string | null;
  /** While a rotation's overlap lasts, the previous secret signs too, until then. */
  previousSecretUntil: string | null;
  createdAt: string;
  updatedAt: string;
  secret?: string;
}

export const SUBSCRIPTION_COLUMNS = 'id, url, events, session_ids, enabled, disabled_reason, previous_secret_until, created_at, updated_at';

export const webhookView = (row: SubscriptionRow): WebhookView => ({
  id: row.id,
  url: row.url,
  events: row.events,
  sessions: row.session_ids,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  previousSecretUntil: row.previous_secret_until && row.previous_secret_until > new Date() ? row.previous_secret_until.toISOString() : null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

export interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  session_id: string | null;
  seq: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface DeliveryView {
  id: string;
  /** The `webhook-id` header it is sent with, the same on every attempt. */
  webhookId: string;
  eventId: string;
  eventType: string;
  sessionId: string | null;
  seq: number | null;
  status: DeliveryStatus;
  attempts: number;
  /** When it is tried next (pending), or when the attempt under way lapses (delivering); else null. */
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export const DELIVERY_COLUMNS = 'id, event_id, event_type, session_id, seq, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at';

export const deliveryView = (row: DeliveryRow): DeliveryView => ({
  id: row.id,
  webhookId: webhookIdOf(row.id),
  eventId: row.event_id,
  eventType: row.event_type,
  sessionId: row.session_id,
  seq: row.seq === null ? null : Number(row.seq),
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.status === 'pending' || row.status === 'delivering' ? row.next_attempt_at.toISOString() : null,
  lastStatus: row.last_status,
  lastError: row.last_error,
  createdAt: row.created_at.toISOString(),
  deliveredAt: row.delivered_at?.toISOString() ?? null,
});
