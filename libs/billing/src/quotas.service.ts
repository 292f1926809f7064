import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { Counters, SyncUnavailableError } from '@wafleet/sync';
import type { EntityManager } from 'typeorm';
import { PlanLimitReachedError, QuotaExceededError, QuotaUnavailableError, RateLimitedError, type PlanLimitName } from './billing.errors';
import { BillingMetrics, type LimitKind } from './billing.metrics';
import { msToNextUtcMidnight, quotaWindowMs, utcDay, type LimitState } from './limit-headers';
import { PlanLimits, type Limits } from './plan-limits';

/** What `takeMessage` counted, and how to uncount it when the message is not stored after all. */
export interface TakenMessage {
  /** Where the tenant stands, or null when its plan has no daily message quota. */
  state: LimitState | null;
  /** Gives the unit back to the day it was taken from. A Redis outage is logged, never thrown: the unit stays spent. */
  giveBack(): Promise<void>;
}

const NOTHING_TAKEN: TakenMessage = { state: null, giveBack: async () => undefined };

/** At most one "limiter unavailable" log line per kind in this long. */
const OUTAGE_LOG_EVERY_MS = 10_000;

const LIMIT_COLUMNS: Record<PlanLimitName, string> = { maxSessions: 'max_sessions', maxRunningCampaigns: 'max_running_campaigns' };

/**
 * The plan limits, enforced once across replicas: requests per window and messages per UTC day through
 * `Counters.take` (one atomic step in Redis), counts of things in use (sessions, running campaigns) in the
 * database under a lock on the tenant's row. When Redis cannot be asked, the request limit fails open
 * (a limiter outage must not take the API down) and the message quota fails closed (an unmetered send
 * can cost money); docs/billing.md says why.
 */
@Injectable()
export class Quotas {
  private readonly logger = new Logger(Quotas.name);
  private readonly lastOutageLog: Record<LimitKind, number> = { requests: 0, messages: 0 };

  constructor(
    private readonly limits: PlanLimits,
    private readonly counters: Counters,
    private readonly config: AppConfig,
    private readonly metrics: BillingMetrics,
  ) {}

  limitsOf(tenantId: string): Promise<Limits> {
    return this.limits.of(tenantId);
  }

  /**
   * Counts one request of the tenant against its plan's requests per window.
   * @returns where the tenant stands, or null when its plan has no such limit (or Redis is down: fail open)
   * @throws RateLimitedError over the limit
   */
  async takeRequest(tenantId: string): Promise<LimitState | null> {
    const limit = (await this.limits.of(tenantId)).requestsPerMinute;
    if (limit === null) return null;
    try {
      const taken = await this.counters.take(`rate:${tenantId}`, limit, this.config.billing.rateLimitWindowMs);
      const state = { limit, remaining: taken.remaining, resetMs: taken.resetMs };
      if (taken.allowed) return state;
      this.metrics.limited.inc({ kind: 'requests' });
      throw new RateLimitedError(state);
    } catch (error) {
      if (!(error instanceof SyncUnavailableError)) throw error;
      this.outage('requests', 'allowed', tenantId, error);
      return null;
    }
  }

  /**
   * Counts one message of the tenant against its plan's messages per UTC day. API sends call it after
   * validation, as the message is stored; campaign sends call it per recipient. A caller that then
   * stores no message (its write failed, a campaign step queued nothing) gives the unit back.
   * @param limits the tenant's limits, read before: a caller inside a database transaction passes them,
   *   since reading them there would need a second connection (the embedded database has one)
   * @throws QuotaExceededError over the quota, QuotaUnavailableError when Redis cannot be asked
   */
  async takeMessage(tenantId: string, limits?: Limits): Promise<TakenMessage> {
    const limit = (limits ?? (await this.limits.of(tenantId))).messagesPerDay;
    if (limit === null) return NOTHING_TAKEN;
    const now = Date.now();
    const key = `quota:${tenantId}:${utcDay(now)}`;
    try {
      const taken = await this.counters.take(key, limit, quotaWindowMs(now));
      const state = { limit, remaining: taken.remaining, resetMs: msToNextUtcMidnight(now) };
      if (taken.allowed) return { state, giveBack: () => this.giveBackMessage(tenantId, key) };
      this.metrics.limited.inc({ kind: 'messages' });
      throw new QuotaExceededError(state);
    } catch (error) {
      if (!(error instanceof SyncUnavailableError)) throw error;
      this.outage('messages', 'refused', tenantId, error);
      throw new QuotaUnavailableError();
    }
  }

  private async giveBackMessage(tenantId: string, key: string): Promise<void> {
    try {
      await this.counters.giveBack(key);
    } catch (error) {
      if (!(error instanceof SyncUnavailableError)) throw error;
      this.logger.warn({ err: error.cause ?? error, tenantId }, 'a message quota unit for a message not stored could not be given back: Redis is unavailable');
    }
  }

  /**
   * Checks that the tenant may have one more of what `limit` counts, exactly across replicas: call it in
   * the transaction that creates the thing. It locks the tenant's row, so concurrent creations of one
   * tenant are counted one after the other, and reads the plan afresh (no cache).
   * @param count how many the tenant has now, counted with `manager` in the same transaction
   * @throws PlanLimitReachedError when that many are in use already
   */
  async withinPlanLimit(manager: EntityManager, tenantId: string, limit: PlanLimitName, count: () => Promise<number>): Promise<void> {
    const [row]: { value: number | null }[] = await manager.query(
      `SELECT p.${LIMIT_COLUMNS[limit]} AS value FROM tenants t LEFT JOIN plans p ON p.id = t.plan_id WHERE t.id = $1 FOR UPDATE OF t`,
      [tenantId],
    );
    const value = row?.value ?? null;
    if (value !== null && (await count()) >= value) throw new PlanLimitReachedError(limit, value);
  }

  private outage(kind: LimitKind, outcome: 'allowed' | 'refused', tenantId: string, error: SyncUnavailableError): void {
    this.metrics.unavailable.inc({ kind, outcome });
    const now = Date.now();
    if (now - this.lastOutageLog[kind] < OUTAGE_LOG_EVERY_MS) return;
    this.lastOutageLog[kind] = now;
    const what = outcome === 'allowed' ? 'requests are let through unlimited' : 'sends are refused with 503';
    this.logger.warn({ err: error.cause ?? error, tenantId, kind }, `the ${kind} limit cannot reach Redis; ${what} until it is back`);
  }
}
