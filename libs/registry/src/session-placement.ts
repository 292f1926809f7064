import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { Cluster, type InstanceInfo } from '@wafleet/sync';
import { DataSource } from 'typeorm';
import { preferredOwner, shouldHandOver, type PlacementCandidate } from './placement';

/**
 * Where sessions should run: the live replicas (from the cluster's heartbeats, draining ones left out),
 * each with its capacity (MAX_SESSIONS, reported in its heartbeats) and its load (live leases, counted by
 * the database), fed to weighted rendezvous hashing with bounded load. With the cluster view unavailable
 * (Redis down) this replica places everything on itself: claims stay atomic, so that is safe, only less even.
 */
@Injectable()
export class SessionPlacement implements OnModuleInit {
  private readonly logger = new Logger(SessionPlacement.name);

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly cluster: Cluster,
  ) {}

  onModuleInit(): void {
    // null: no limit, as GET /cluster shows it.
    this.cluster.report('capacity', this.config.registry.maxSessions || null);
  }

  get instanceId(): string {
    return this.config.instanceId;
  }

  /** Live, not draining replicas with their capacity and load; `exclude` (a replica presumed dead) left out. */
  async candidates(exclude: ReadonlySet<string> = new Set()): Promise<PlacementCandidate[]> {
    const [instances, loads] = await Promise.all([this.liveInstances(), this.loads()]);
    return instances
      .filter((instance) => instance.reports.draining !== true && !exclude.has(instance.id))
      .map((instance) => ({ id: instance.id, capacity: Number(instance.reports.capacity ?? 0) || 0, load: loads.get(instance.id) ?? 0 }));
  }

  /** @returns the replica the session should start on, undefined when every replica is full */
  preferred(sessionId: string, candidates: PlacementCandidate[]): string | undefined {
    return preferredOwner(sessionId, candidates);
  }

  /** @returns the replica to hand `sessionId` to, when this replica holds more than its share */
  handOverTarget(sessionId: string, candidates: PlacementCandidate[]): string | undefined {
    return shouldHandOver(sessionId, this.instanceId, candidates);
  }

  /** Whether this replica is at MAX_SESSIONS. */
  isFull(running: number): boolean {
    return this.config.registry.maxSessions > 0 && running >= this.config.registry.maxSessions;
  }

  private async liveInstances(): Promise<Pick<InstanceInfo, 'id' | 'reports'>[]> {
    const self = { id: this.instanceId, reports: { capacity: this.config.registry.maxSessions || null } };
    try {
      const all = await this.cluster.instances();
      // A replica that stopped heartbeating (killed) stays listed until HEARTBEAT_TIMEOUT_MS; compared on
      // the heartbeats' own clock, two missed beats are enough to stop sending it sessions.
      const freshest = Math.max(...all.map((instance) => Date.parse(instance.heartbeatAt)));
      const instances = all.filter((instance) => freshest - Date.parse(instance.heartbeatAt) <= 2 * this.config.sync.heartbeatIntervalMs);
      return instances.some((instance) => instance.id === self.id) ? instances : [...instances, self];
    } catch (error) {
      this.logger.warn({ err: error }, 'the cluster view is unavailable; placing sessions on this replica');
      return [self];
    }
  }

  private async loads(): Promise<Map<string, number>> {
    const rows: { id: string; load: number }[] = await this.dataSource.query(
      `SELECT owner_instance_id AS id, count(*)::int AS load FROM sessions WHERE lease_expires_at > now() GROUP BY owner_instance_id`,
    );
    return new Map(rows.map((row) => [row.id, row.load]));
  }
}
