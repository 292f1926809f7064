import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { decodeCursor, type Page, toPage } from '@wafleet/core';
import type { HandoffReason } from '@wafleet/registry';
import type { DesiredState, SessionStatus } from '@wafleet/sessions';
import { Cluster } from '@wafleet/sync';
import { DataSource } from 'typeorm';
import type { ClusterInstanceView, ClusterSessionView } from './cluster.view';

/** Handoffs shown per session; the log keeps more (HANDOFFS_KEPT_PER_SESSION). */
const HANDOFFS_SHOWN = 3;

interface SessionRow {
  id: string;
  name: string;
  tenantId: string;
  owner: string | null;
  epoch: string;
  leaseExpiresAt: Date | null;
  leaseExpiresInMs: number | null;
  status: SessionStatus;
  desiredState: DesiredState;
  createdAt: Date;
  handoffs: { from: string | null; to: string; epoch: string; reason: HandoffReason; at: string }[];
}

export interface ClusterView {
  /** The instance that answered. */
  instanceId: string;
  instances: ClusterInstanceView[];
  sessions: Page<ClusterSessionView>;
}

/**
 * Who runs what: the live instances (from their heartbeats) with the sessions each holds a live lease
 * on (from the database), and one page of sessions with their leases and last handoffs.
 */
@Injectable()
export class ClusterService {
  constructor(
    private readonly cluster: Cluster,
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async view(limit: number, cursor?: string): Promise<ClusterView> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const [instances, owned, sessions] = await Promise.all([
      this.cluster.instances(),
      this.ownedCounts(),
      this.sessionRows(limit + 1, after?.createdAt, after?.id),
    ]);
    const now = Date.now();
    return {
      instanceId: this.config.instanceId,
      instances: instances.map((instance) => ({
        id: instance.id,
        version: instance.version,
        startedAt: instance.startedAt,
        heartbeatAgeMs: Math.max(0, now - Date.parse(instance.heartbeatAt)),
        sessionsOwned: owned.get(instance.id) ?? 0,
        capacity: typeof instance.reports.capacity === 'number' ? instance.reports.capacity : null,
        draining: instance.reports.draining === true,
      })),
      sessions: toPage(sessions, limit, toSessionView),
    };
  }

  private async ownedCounts(): Promise<Map<string, number>> {
    const rows: { owner: string; sessions: number }[] = await this.dataSource.query(
      `SELECT owner_instance_id AS owner, count(*)::int AS sessions FROM sessions
       WHERE owner_instance_id IS NOT NULL AND lease_expires_at > now() GROUP BY owner_instance_id`,
    );
    return new Map(rows.map((row) => [row.owner, row.sessions]));
  }

  private sessionRows(take: number, afterCreatedAt?: Date, afterId?: string): Promise<SessionRow[]> {
    return this.dataSource.query(
      `SELECT s.id, s.name, s.tenant_id AS "tenantId", s.owner_instance_id AS owner, s.lease_epoch::text AS epoch,
         s.lease_expires_at AS "leaseExpiresAt",
         round(extract(epoch FROM s.lease_expires_at - now()) * 1000)::int AS "leaseExpiresInMs",
         s.status, s.desired_state AS "desiredState", s.created_at AS "createdAt",
         COALESCE((
           SELECT json_agg(json_build_object('from', h.from_instance_id, 'to', h.to_instance_id, 'epoch', h.epoch::text,
                    'reason', h.reason, 'at', h.at) ORDER BY h.at DESC, h.id DESC)
           FROM (SELECT * FROM session_handoffs WHERE session_id = s.id ORDER BY at DESC, id DESC LIMIT $4) h
         ), '[]') AS handoffs
       FROM sessions s
       WHERE $2::timestamptz IS NULL OR (s.created_at, s.id) > ($2::timestamptz, $3::uuid)
       ORDER BY s.created_at, s.id
       LIMIT $1`,
      [take, afterCreatedAt ?? null, afterId ?? null, HANDOFFS_SHOWN],
    );
  }
}

function toSessionView(row: SessionRow): ClusterSessionView {
  return {
    id: row.id,
    name: row.name,
    tenantId: row.tenantId,
    owner: row.owner,
    epoch: Number(row.epoch),
    leaseExpiresAt: row.leaseExpiresAt?.toISOString() ?? null,
    leaseExpiresInMs: row.leaseExpiresInMs,
    status: row.status,
    desiredState: row.desiredState,
    handoffs: row.handoffs.map((handoff) => ({
      from: handoff.from,
      to: handoff.to,
      epoch: Number(handoff.epoch),
      reason: handoff.reason,
      at: new Date(handoff.at).toISOString(),
    })),
  };
}
