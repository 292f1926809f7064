import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { DataSource } from 'typeorm';

/** The body a delivery sends, fixed when it is enqueued (docs/webhooks.md). */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: { eventId: string; sessionId: string | null; seq: number | null; tenantId: string; payload: unknown };
}

/** A delivery this instance claimed, with what it needs to attempt it. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  /** This attempt's number, 1 for the first; it also fences the outcome write. */
  attempts: number;
  payload: WebhookBody;
  url: string;
  enabled: boolean;
  /** The current secret first, then the previous one while its overlap lasts. */
  secrets: string[];
}

/** How a claimed delivery's attempt ended, to be written back. */
export interface DeliveryOutcome {
  id: string;
  attempts: number;
  status: 'pending' | 'delivered' | 'dead' | 'disabled';
  /** With `pending`: when to try again, from now. */
  delayMs: number;
  lastStatus: number | null;
  lastError: string | null;
}

interface ClaimedRow {
  id: string;
  subscription_id: string;
  attempts: number;
  payload: WebhookBody;
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
}

/**
 * The part of every event log append that enqueues the event's deliveries (an AppendHook): one per
 * enabled subscription of the tenant that wants this event type and session, with the body fixed now
 * (WebhookBody; `timestamp` is `occurredAt` as the API shows it, UTC to the millisecond). A tenant
 * without subscriptions costs one index probe.
 */
export const ENQUEUE_DELIVERIES_SQL = `
  INSERT INTO webhook_deliveries (id, subscription_id, tenant_id, session_id, event_id, event_type, seq, payload)
  SELECT gen_random_uuid(), s.id, s.tenant_id, appended.session_id, appended.id, appended.type, appended.seq,
    jsonb_build_object(
      'type', appended.type,
      'timestamp', to_char(appended.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', jsonb_build_object('eventId', appended.id, 'sessionId', appended.session_id, 'seq', appended.seq,
        'tenantId', appended.tenant_id, 'payload', appended.data))
  FROM appended JOIN webhook_subscriptions s ON s.tenant_id = appended.tenant_id
  WHERE s.enabled AND (appended.type = ANY (s.events) OR '*' = ANY (s.events))
    AND (s.session_ids IS NULL OR appended.session_id = ANY (s.session_ids))
  RETURNING 1`;

/**
 * The transactional outbox of webhook deliveries, in raw SQL because it is the hot path: enqueued in
 * each event's own statement (ENQUEUE_DELIVERIES_SQL), one UPDATE per claimed batch, one UPDATE per batch of outcomes. A claim is a lease
 * (WEBHOOK_TIMEOUT_MS + 15 s) taken with `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any number
 * of replicas never get the same row, and a dead claimer's rows come back when their lease ends.
 * Outcomes are written only while the row is still this instance's claim at the same attempt.
 */
@Injectable()
export class WebhookOutbox {
  readonly leaseMs: number;
  private readonly instanceId: string;

  constructor(
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.leaseMs = config.webhooks.timeoutMs + 15_000;
    this.instanceId = config.instanceId;
  }

  /**
   * Deletes up to `limit` deliveries that ended (delivered, dead or disabled) and were enqueued more than
   * `days` ago (WEBHOOK_DELIVERY_RETENTION_DAYS); while one replica does, the others' batches delete
   * nothing. @returns how many it deleted
   */
  async prune(days: number, limit: number): Promise<number> {
    const [row]: { deleted: number }[] = await this.dataSource.query(
      `WITH turn AS (SELECT pg_try_advisory_xact_lock(hashtext('wafleet:retention:webhook_deliveries')) AS mine),
       doomed AS (
         SELECT d.id FROM webhook_deliveries d, turn
         WHERE turn.mine AND d.status IN ('delivered', 'dead', 'disabled') AND d.created_at < now() - $1 * interval '1 day' LIMIT $2),
       deleted AS (DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING 1)
       SELECT count(*)::int AS deleted FROM deleted`,
      [days, limit],
    );
    return row?.deleted ?? 0;
  }

  /**
   * Claims up to `limit` due deliveries (pending and due, or claimed by someone whose lease ran out),
   * oldest due first, and counts the attempt.
   */
  async claim(limit: number): Promise<ClaimedDelivery[]> {
    const rows: ClaimedRow[] = await this.dataSource.query(
      // CTEs throughout, so the driver answers the rows as for a SELECT.
      `WITH due AS (
         SELECT id FROM webhook_deliveries
         WHERE status IN ('pending', 'delivering') AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED),
       claimed AS (
         UPDATE webhook_deliveries d
         SET status = 'delivering', claimed_by = $1, claim_expires_at = now() + $2 * interval '1 millisecond',
             next_attempt_at = now() + $2 * interval '1 millisecond', attempts = d.attempts + 1
         FROM due, webhook_subscriptions s
         WHERE d.id = due.id AND s.id = d.subscription_id
         RETURNING d.id, d.subscription_id, d.attempts, d.payload, s.url, s.enabled, s.secret,
           CASE WHEN s.previous_secret_until > now() THEN s.previous_secret END AS previous_secret)
       SELECT * FROM claimed`,
      [this.instanceId, this.leaseMs, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      subscriptionId: row.subscription_id,
      attempts: row.attempts,
      payload: row.payload,
      url: row.url,
      enabled: row.enabled,
      secrets: row.previous_secret ? [row.secret, row.previous_secret] : [row.secret],
    }));
  }

  /**
   * Writes outcomes in one statement, each only if the row is still this instance's claim at that
   * attempt (a claim that lapsed and was taken over belongs to its new holder).
   * @returns the ids written
   */
  async record(outcomes: readonly DeliveryOutcome[]): Promise<Set<string>> {
    if (outcomes.length === 0) return new Set();
    const rows: { id: string }[] = await this.dataSource.query(
      `WITH written AS (
         UPDATE webhook_deliveries d
         SET status = v.status, claimed_by = NULL, claim_expires_at = NULL,
             next_attempt_at = CASE WHEN v.status = 'pending' THEN now() + v.delay_ms * interval '1 millisecond' ELSE d.next_attempt_at END,
             last_status = v.last_status, last_error = v.last_error,
             delivered_at = CASE WHEN v.status = 'delivered' THEN now() ELSE d.delivered_at END
         FROM unnest($2::uuid[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::text[]) AS v (id, attempts, status, delay_ms, last_status, last_error)
         WHERE d.id = v.id AND d.attempts = v.attempts AND d.status = 'delivering' AND d.claimed_by = $1
         RETURNING d.id)
       SELECT id FROM written`,
      [
        this.instanceId,
        outcomes.map((o) => o.id),
        outcomes.map((o) => o.attempts),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.delayMs),
        outcomes.map((o) => o.lastStatus),
        outcomes.map((o) => o.lastError),
      ],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Gives claims back unattempted (on shutdown), due now and with the attempt uncounted, so another
   * instance (or this one, restarted) takes them without waiting for the lease.
   */
  async release(claims: readonly { id: string; attempts: number }[]): Promise<void> {
    if (claims.length === 0) return;
    await this.dataSource.query(
      `UPDATE webhook_deliveries d
       SET status = 'pending', claimed_by = NULL, claim_expires_at = NULL, next_attempt_at = now(), attempts = d.attempts - 1
       FROM unnest($2::uuid[], $3::int[]) AS v (id, attempts)
       WHERE d.id = v.id AND d.attempts = v.attempts AND d.status = 'delivering' AND d.claimed_by = $1`,
      [this.instanceId, claims.map((c) => c.id), claims.map((c) => c.attempts)],
    );
  }

  /**
   * Turns subscriptions off (their endpoint answered 410 Gone, or they were switched off): nothing more
   * is enqueued for them, and their deliveries still waiting become `disabled`.
   */
  async disableSubscriptions(ids: readonly string[], reason: string): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(
      `WITH off AS (
         UPDATE webhook_subscriptions SET enabled = false, disabled_reason = $2, updated_at = now()
         WHERE id = ANY ($1::uuid[]) RETURNING id)
       UPDATE webhook_deliveries SET status = 'disabled', last_error = coalesce(last_error, $2)
       WHERE subscription_id IN (SELECT id FROM off) AND status = 'pending'`,
      [ids, reason],
    );
  }

  /** Deliveries waiting (pending or being attempted), and how long the oldest due one has waited. */
  async queueStats(): Promise<{ depth: number; oldestDueSeconds: number }> {
    const [row]: { depth: number; oldest: number | null }[] = await this.dataSource.query(
      `SELECT count(*)::int AS depth,
         extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()))::float8 AS oldest
       FROM webhook_deliveries WHERE status IN ('pending', 'delivering')`,
    );
    return { depth: row?.depth ?? 0, oldestDueSeconds: row?.oldest ?? 0 };
  }
}

/** The JSON text sent for a delivery, its keys in documented order (the stored jsonb does not keep it). */
export const bodyText = (body: WebhookBody): string =>
  JSON.stringify({
    type: body.type,
    timestamp: body.timestamp,
    data: { eventId: body.data.eventId, sessionId: body.data.sessionId, seq: body.data.seq, tenantId: body.data.tenantId, payload: body.data.payload },
  });
