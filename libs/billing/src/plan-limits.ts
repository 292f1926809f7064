import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { DataSource } from 'typeorm';

/** A tenant's limits; null is no limit. A tenant without a plan has no limits at all. */
export interface Limits {
  requestsPerMinute: number | null;
  messagesPerDay: number | null;
  maxSessions: number | null;
  maxRunningCampaigns: number | null;
}

export const UNLIMITED: Limits = Object.freeze({ requestsPerMinute: null, messagesPerDay: null, maxSessions: null, maxRunningCampaigns: null });

/** Entries kept at most; past it the map starts over, so a flood of tenants cannot grow it. */
const CACHE_LIMIT = 10_000;

/**
 * Each tenant's plan limits as read at most PLAN_CACHE_TTL_MS ago: every tenant request needs them, and a
 * database read per request would cost more than the limit itself. A change made through this replica
 * clears the cache at once; one made on another replica is seen within the TTL. Reads of one tenant in
 * flight together share one query.
 */
@Injectable()
export class PlanLimits {
  private readonly cache = new Map<string, { limits: Limits; expiresAt: number }>();
  private readonly reading = new Map<string, Promise<Limits>>();
  /** Bumped by every change, so a read that began before one is not kept. */
  private changes = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async of(tenantId: string): Promise<Limits> {
    const kept = this.cache.get(tenantId);
    if (kept && kept.expiresAt > Date.now()) return kept.limits;
    const inFlight = this.reading.get(tenantId);
    if (inFlight) return inFlight;
    const changesBefore = this.changes;
    const read = this.read(tenantId).finally(() => this.reading.delete(tenantId));
    this.reading.set(tenantId, read);
    const limits = await read;
    if (this.changes === changesBefore && this.config.billing.planCacheTtlMs > 0) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(tenantId, { limits, expiresAt: Date.now() + this.config.billing.planCacheTtlMs });
    }
    return limits;
  }

  /** A plan or a tenant's plan changed here: read every tenant's limits afresh. */
  forgetAll(): void {
    this.changes++;
    this.cache.clear();
    this.reading.clear();
  }

  private async read(tenantId: string): Promise<Limits> {
    const [row]: Limits[] = await this.dataSource.query(
      `SELECT p.requests_per_minute AS "requestsPerMinute", p.messages_per_day AS "messagesPerDay",
              p.max_sessions AS "maxSessions", p.max_running_campaigns AS "maxRunningCampaigns"
       FROM tenants t JOIN plans p ON p.id = t.plan_id WHERE t.id = $1`,
      [tenantId],
    );
    return row ?? UNLIMITED;
  }
}
