import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { DataSource } from 'typeorm';
import { SessionLocks } from './session-locks';
import { SessionRuntime } from './session-runtime';
import type { Session } from './session.entity';

/** Orphans started at once in one pass; the rest queue behind them. */
const LAUNCH_CONCURRENCY = 16;
/** Orphans looked at per pass, so one pass stays short however many sessions wait. */
const ORPHANS_PER_PASS = 500;

type SessionRef = Pick<Session, 'id' | 'tenantId' | 'name'>;

/**
 * Brings what runs in line with what is wanted, on every replica, every third of the lease TTL (the
 * first pass at boot is how sessions come back after a restart): sessions desired running that no live
 * replica holds get claimed and started here, and sessions this replica runs that were stopped through
 * another replica get stopped. The claim is atomic, so replicas racing for an orphan start it once.
 */
@Injectable()
export class SessionReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionReconciler.name);
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> = Promise.resolve();
  private passing = false;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly runtime: SessionRuntime,
    private readonly locks: SessionLocks,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
    this.timer = setInterval(() => this.schedule(), Math.max(Math.round(this.config.registry.leaseTtlMs / 3), 100));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.pass;
  }

  /** Runs a pass now unless one is under way; resolves when the current pass ends. */
  reconcileNow(): Promise<void> {
    this.schedule();
    return this.pass;
  }

  private schedule(): void {
    if (this.passing || this.stopping) return;
    this.passing = true;
    this.pass = this.reconcile()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'reconciling sessions failed; retrying next pass'))
      .finally(() => (this.passing = false));
  }

  private async reconcile(): Promise<void> {
    // A status no engine stands behind (its replica died mid-stop) is stopped.
    await this.dataSource.query(
      `UPDATE sessions SET status = 'stopped', updated_at = now()
       WHERE desired_state = 'stopped' AND status IN ('starting', 'scan_qr', 'working')
         AND (owner_instance_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())`,
    );
    await this.stopUnwanted();
    await this.startOrphans();
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

  private async startOrphans(): Promise<void> {
    const orphans: SessionRef[] = (
      await this.dataSource.query(
        `SELECT id, tenant_id AS "tenantId", name FROM sessions
         WHERE desired_state = 'running' AND (owner_instance_id IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())
         ORDER BY created_at, id LIMIT $1`,
        [ORPHANS_PER_PASS],
      )
    ).filter((session: SessionRef) => !this.runtime.isRunning(session.id));
    if (orphans.length) this.logger.log({ sessions: orphans.length }, 'starting sessions no replica runs');
    let next = 0;
    const worker = async () => {
      while (next < orphans.length && !this.stopping) {
        const session = orphans[next++]!;
        await this.locks.run(session.id, () => this.runtime.launch(session, { resume: true }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LAUNCH_CONCURRENCY, orphans.length) }, worker));
  }
}
