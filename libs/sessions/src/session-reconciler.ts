import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { SessionPlacement, type PlacementCandidate } from '@wafleet/registry';
import { PubSub } from '@wafleet/sync';
import { DataSource } from 'typeorm';
import { EventLog } from './event-log';
import { SessionLocks } from './session-locks';
import { SessionRuntime } from './session-runtime';
import type { Session, SessionMe } from './session.entity';

/** Published when a replica gives sessions up (shutdown, handover), so the others claim them at once. */
export const SESSIONS_RELEASED = 'sessions.released';

/**
 * What a release announcement says: `leaving` names a replica that is shutting down. Its heartbeats may
 * not say `draining` yet when the others read the released sessions, and placement would still prefer it.
 */
interface ReleasedMessage {
  leaving?: string;
}

/** Sessions desired stopped whose status says an engine runs, though no live lease stands behind it. */
const ABANDONED = `desired_state = 'stopped' AND status IN ('starting', 'scan_qr', 'working')
  AND (owner_instance_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())`;

/** Orphans started at once in one pass; the rest queue behind them. */
const LAUNCH_CONCURRENCY = 16;
/** Orphans looked at per pass, so one pass stays short however many sessions wait. */
const ORPHANS_PER_PASS = 500;

type SessionRef = Pick<Session, 'id' | 'tenantId' | 'name'>;
/** An orphan, with the replica whose lease lapsed on it (presumed dead) and how long it has waited. */
type Orphan = SessionRef & { lapsedOwner: string | null; orphanedMs: number };

/**
 * Brings what runs in line with what is wanted, on every replica, every second (a third of the lease
 * TTL if shorter); the first pass at boot is how sessions come back after a restart:
 * - sessions desired running that no live replica holds are claimed by the replica placement prefers
 *   (the one whose lease lapsed left out), or by any replica once they have waited a grace period;
 * - sessions this replica runs that were stopped through another replica are stopped;
 * - while this replica holds more than its share, it hands sessions over to their preferred replica,
 *   at most REBALANCE_PER_MINUTE, so a replica that joins gets its share.
 * Claims are atomic, so replicas racing for an orphan start it once.
 */
@Injectable()
export class SessionReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionReconciler.name);
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> = Promise.resolve();
  private passing = false;
  private again = false;
  private stopping = false;
  private readonly intervalMs: number;
  /** Replicas that announced they are shutting down, until when to leave them out of placement. */
  private readonly leaving = new Map<string, number>();
  /** Handovers this replica may still make; refilled at REBALANCE_PER_MINUTE. */
  private handovers: number;
  private refilledAt = Date.now();

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly runtime: SessionRuntime,
    private readonly locks: SessionLocks,
    private readonly placement: SessionPlacement,
    private readonly pubsub: PubSub,
    private readonly log: EventLog,
  ) {
    this.intervalMs = Math.max(Math.min(Math.round(config.registry.leaseTtlMs / 3), 1_000), 100);
    this.handovers = Math.min(config.registry.rebalancePerMinute, 1);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.schedule();
    this.timer = setInterval(() => this.schedule(), this.intervalMs);
    try {
      await this.pubsub.subscribe(SESSIONS_RELEASED, (message) => this.heardReleased(message as ReleasedMessage));
    } catch (error) {
      // Without it, released sessions are still claimed on the next pass, a second later.
      this.logger.warn({ err: error }, 'cannot hear of released sessions; relying on the periodic pass');
    }
  }

  /** Tells every replica (this one included) that sessions are free to claim; never throws. */
  announceReleased(message: ReleasedMessage = {}): Promise<void> {
    return this.pubsub.publish(SESSIONS_RELEASED, message).catch((error: unknown) => this.logger.warn({ err: error }, 'announcing released sessions failed'));
  }

  /** Stops this replica's engines (releasing their leases) and tells the others to claim them now. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.pass;
    const released = this.runtime.runningIds().length > 0;
    await this.runtime.stopAll();
    if (released) await this.announceReleased({ leaving: this.placement.instanceId });
  }

  private heardReleased(message: ReleasedMessage): void {
    if (message?.leaving && message.leaving !== this.placement.instanceId) {
      // Until its heartbeats say draining, or it left the cluster view; not longer, as it may come back.
      this.leaving.set(message.leaving, Date.now() + 2 * this.config.sync.heartbeatIntervalMs);
    }
    this.schedule();
  }

  /** Replicas not to place sessions on: those whose lease lapsed on an orphan, and those shutting down. */
  private departed(orphans: Orphan[]): Set<string> {
    const now = Date.now();
    for (const [id, until] of this.leaving) if (until < now) this.leaving.delete(id);
    const lapsed = orphans.map((orphan) => orphan.lapsedOwner).filter((owner): owner is string => owner !== null);
    return new Set([...lapsed, ...this.leaving.keys()]);
  }

  /** Runs a pass now unless one is under way; resolves when the current pass ends. */
  reconcileNow(): Promise<void> {
    this.schedule();
    return this.pass;
  }

  private schedule(): void {
    if (this.stopping) return;
    // A release heard during a pass may have come after the pass read the orphans: run once more after it.
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    this.pass = this.reconcile()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'reconciling sessions failed; retrying next pass'))
      .finally(() => {
        this.passing = false;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  private async reconcile(): Promise<void> {
    await this.stopAbandoned();
    await this.stopUnwanted();
    // Sessions move for balance only while none is looking for an owner: never in the middle of a failover.
    if (!(await this.startOrphans())) await this.rebalance();
  }

  /** A status no engine stands behind (its replica died mid-stop) is stopped, and its log says so. */
  private async stopAbandoned(): Promise<void> {
    const abandoned: { id: string; epoch: string }[] = await this.dataSource.query(
      `SELECT id, lease_epoch::text AS epoch FROM sessions WHERE ${ABANDONED}`,
    );
    for (const { id, epoch } of abandoned) {
      await this.log.transact(async (manager, append) => {
        const [row]: { me: SessionMe | null }[] = await manager.query(
          `WITH stopped AS (
             UPDATE sessions SET status = 'stopped', updated_at = now() WHERE id = $1 AND lease_epoch = $2 AND ${ABANDONED} RETURNING me)
           SELECT me FROM stopped`,
          [id, epoch],
        );
        if (row) await append({ sessionId: id, epoch, type: 'session.status', data: { status: 'stopped', me: row.me } });
      });
    }
  }

  private async stopUnwanted(): Promise<void> {
    const ids = this.runtime.runningIds();
    if (ids.length === 0) return;
    const unwanted: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM sessions WHERE id = ANY($1::uuid[]) AND desired_state = 'stopped'`,
      [ids],
    );
    await Promise.all(unwanted.map(({ id }) => this.locks.run(id, () => this.runtime.halt(id))));
  }

  /** @returns whether any session was looking for an owner */
  private async startOrphans(): Promise<boolean> {
    const orphans: Orphan[] = (
      await this.dataSource.query(
        `SELECT id, tenant_id AS "tenantId", name,
           CASE WHEN lease_expires_at IS NOT NULL THEN owner_instance_id END AS "lapsedOwner",
           (EXTRACT(EPOCH FROM now() - COALESCE(lease_expires_at, updated_at)) * 1000)::float8 AS "orphanedMs"
         FROM sessions
         WHERE desired_state = 'running' AND (owner_instance_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())
         ORDER BY created_at, id LIMIT $1`,
        [ORPHANS_PER_PASS],
      )
    ).filter((session: Orphan) => !this.runtime.isRunning(session.id));
    if (orphans.length === 0) return false;
    const graceMs = 3 * this.intervalMs;
    const candidates = await this.placement.candidates(this.departed(orphans));
    const mine = orphans.filter((orphan) => {
      if (this.placement.isFull(this.runtime.runningIds().length)) return false;
      const preferred = this.placement.preferred(orphan.id, candidates);
      if (preferred !== this.placement.instanceId && orphan.orphanedMs < graceMs) return false;
      // Count it here at once, so the rest of this pass places against the load it will have.
      const self = candidates.find((c) => c.id === this.placement.instanceId);
      if (self) self.load++;
      return true;
    });
    if (mine.length) this.logger.log({ sessions: mine.length }, 'starting sessions no replica runs');
    let next = 0;
    const worker = async () => {
      while (next < mine.length && !this.stopping) {
        const session = mine[next++]!;
        await this.locks.run(session.id, () => this.runtime.launch(session, { resume: true }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LAUNCH_CONCURRENCY, mine.length) }, worker));
    return true;
  }

  private async rebalance(): Promise<void> {
    const perMinute = this.config.registry.rebalancePerMinute;
    if (perMinute === 0) return;
    const now = Date.now();
    this.handovers = Math.min(this.handovers + ((now - this.refilledAt) / 60_000) * perMinute, Math.max(1, perMinute / 6));
    this.refilledAt = now;
    if (this.handovers < 1) return;
    const ids = this.runtime.runningIds();
    if (ids.length < 2) return;
    // Only sessions at rest move: a QR on show, or a login under way, stays where it is.
    const working: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM sessions WHERE id = ANY($1::uuid[]) AND status = 'working' ORDER BY updated_at`,
      [ids],
    );
    const candidates: PlacementCandidate[] = await this.placement.candidates();
    for (const { id } of working) {
      if (this.handovers < 1 || this.stopping) return;
      const target = this.placement.handOverTarget(id, candidates);
      if (!target) continue;
      this.handovers--;
      this.logger.log({ sessionId: id, to: target }, 'handing a session over toward a fair share');
      await this.locks.run(id, () => this.runtime.handOff(id));
      void this.announceReleased();
      for (const c of candidates) c.load += c.id === target ? 1 : c.id === this.placement.instanceId ? -1 : 0;
    }
  }
}
