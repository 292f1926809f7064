import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { PREVIOUS_LEASE, RECORD_HANDOFF, type HandoffReason } from './session-handoffs';
import { SessionLeaseMetrics } from './session-leases.metrics';

/** Why a held lease ended without the holder giving it up. */
export type LeaseLoss = 'taken' | 'self_fenced';

interface HeldLease {
  epoch: string;
  onLost: (loss: LeaseLoss) => void;
}

/**
 * This replica's leases on session rows (DESIGN "Session ownership"). A lease is `owner_instance_id`,
 * `lease_expires_at` and `lease_epoch`, a fencing token that grows with every claim; all times are the
 * database's `now()`. Held leases are renewed in one statement every third of the TTL; a lease the
 * renewal no longer finds was taken, and its holder is told at once. When renewals keep failing, the
 * replica fences itself: every holder is told before the leases can lapse, so the next owner never
 * overlaps this one.
 */
@Injectable()
export class SessionLeases implements OnApplicationShutdown {
  private readonly logger = new Logger(SessionLeases.name);
  private readonly held = new Map<string, HeldLease>();
  private readonly ttlMs: number;
  /** Stop engines this long before a lease, last renewed at the time its renewal was sent, could lapse. */
  private readonly marginMs: number;
  private readonly instanceId: string;
  private timer?: NodeJS.Timeout;
  /** Monotonic time the last successful renewal was sent; leases run at least `ttlMs` from then. */
  private renewedAt = performance.now();
  private lastAttemptAt = 0;
  private renewing = false;

  constructor(
    config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly metrics: SessionLeaseMetrics,
  ) {
    metrics.observeHeld(() => this.held.size);
    this.ttlMs = config.registry.leaseTtlMs;
    this.marginMs = Math.max(Math.round(this.ttlMs / 5), 500);
    this.instanceId = config.instanceId;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Takes the session when nobody holds a live lease on it (or this replica does), under a new epoch.
   * A claim that moves the session here also records the handoff, in the same statement (session-handoffs.ts).
   * @param options.onlyIfDesiredRunning refuse unless the session is still desired running
   * @returns the new epoch, or null when a live owner holds it (or it is no longer desired running)
   */
  async claim(sessionId: string, options: { onlyIfDesiredRunning?: boolean } = {}): Promise<string | null> {
    const [row]: { epoch: string; handoff: HandoffReason | null }[] = await this.dataSource.query(
      `WITH ${PREVIOUS_LEASE}, claimed AS (
         UPDATE sessions SET owner_instance_id = $2, lease_epoch = lease_epoch + 1,
           lease_expires_at = now() + $3 * interval '1 millisecond'
         WHERE id = $1 AND EXISTS (SELECT FROM previous_lease)
           AND (owner_instance_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now() OR owner_instance_id = $2)
           AND (NOT $4::boolean OR desired_state = 'running')
         RETURNING lease_epoch), ${RECORD_HANDOFF}
       SELECT lease_epoch AS epoch, (SELECT reason FROM handoff) AS handoff FROM claimed`,
      [sessionId, this.instanceId, this.ttlMs, options.onlyIfDesiredRunning ?? false],
    );
    this.metrics.claimed(row);
    return row?.epoch ?? null;
  }

  /** Keeps the lease renewed until dropped; `onLost` runs once if it is taken or this replica fences itself. */
  hold(sessionId: string, epoch: string, onLost: (loss: LeaseLoss) => void): void {
    // The claim just set this lease's expiry; with nothing else held, that claim is the latest renewal.
    if (this.held.size === 0) this.renewedAt = performance.now();
    this.held.set(sessionId, { epoch, onLost });
    this.timer ??= setInterval(() => void this.tick(), Math.max(Math.round(this.ttlMs / 10), 100));
  }

  /** Gives the lease up so another replica may claim at once; only while it is still at `epoch`. */
  async release(sessionId: string, epoch: string): Promise<void> {
    if (this.held.get(sessionId)?.epoch === epoch) this.held.delete(sessionId);
    await this.dataSource.query(
      // The expiry becomes the release time: how long a session has waited for an owner counts from now.
      `UPDATE sessions SET owner_instance_id = NULL, lease_expires_at = now() WHERE id = $1 AND lease_epoch = $2 AND owner_instance_id = $3`,
      [sessionId, epoch, this.instanceId],
    );
  }

  /** Sessions this replica holds a lease on, with their epochs. */
  heldEpochs(): Map<string, string> {
    return new Map([...this.held].map(([id, lease]) => [id, lease.epoch]));
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    if (this.held.size && now - this.renewedAt > this.ttlMs - this.marginMs) return this.fenceSelf(now);
    if (this.renewing || now - this.lastAttemptAt < this.ttlMs / 3) return;
    this.renewing = true;
    this.lastAttemptAt = now;
    try {
      await this.renew(now);
    } catch (error) {
      this.metrics.renewFailures.inc();
      this.logger.warn({ err: error, held: this.held.size }, 'renewing session leases failed');
    } finally {
      this.renewing = false;
    }
  }

  private async renew(sentAt: number): Promise<void> {
    const leases = [...this.held];
    if (leases.length === 0) {
      this.renewedAt = sentAt;
      return;
    }
    const renewed: { id: string }[] = await this.dataSource.query(
      `WITH renewed AS (
         UPDATE sessions SET lease_expires_at = now() + $2 * interval '1 millisecond'
         WHERE owner_instance_id = $1 AND (id, lease_epoch) IN (SELECT * FROM unnest($3::uuid[], $4::bigint[]))
         RETURNING id)
       SELECT id FROM renewed`,
      [this.instanceId, this.ttlMs, leases.map(([id]) => id), leases.map(([, lease]) => lease.epoch)],
    );
    this.renewedAt = sentAt;
    const kept = new Set(renewed.map((row) => row.id));
    for (const [id, lease] of leases) {
      if (kept.has(id) || this.held.get(id) !== lease) continue;
      this.held.delete(id);
      this.metrics.leaseLost('taken');
      this.logger.warn({ sessionId: id, epoch: lease.epoch }, 'session lease was taken by another replica');
      lease.onLost('taken');
    }
  }

  private fenceSelf(now: number): void {
    const leases = [...this.held.values()];
    this.held.clear();
    this.metrics.selfFenced(leases.length);
    this.logger.error(
      { sessions: leases.length, sinceRenewalMs: Math.round(now - this.renewedAt), leaseTtlMs: this.ttlMs },
      'could not renew session leases in time; stopping every session before the leases lapse',
    );
    for (const lease of leases) lease.onLost('self_fenced');
  }
}
