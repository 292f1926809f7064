import type { HandoffReason } from '@wafleet/registry';
import type { DesiredState, SessionStatus } from '@wafleet/sessions';

/** A live instance, as its heartbeats and the leases in the database describe it. */
export interface ClusterInstanceView {
  id: string;
  version: string;
  startedAt: string;
  /** Since the instance's last heartbeat, by the answering instance's clock. */
  heartbeatAgeMs: number;
  /** Sessions it holds a live lease on, counted in the database. */
  sessionsOwned: number;
  /** The most sessions it takes, as it reports; null when it reports no limit. */
  capacity: number | null;
  draining: boolean;
}

export interface HandoffView {
  from: string | null;
  to: string;
  epoch: number;
  reason: HandoffReason;
  at: string;
}

/** A session's lease and state; its owner is the last claimer, live while `leaseExpiresInMs` > 0. */
export interface ClusterSessionView {
  id: string;
  name: string;
  tenantId: string;
  owner: string | null;
  epoch: number;
  leaseExpiresAt: string | null;
  /** Negative once the lease lapsed; null when there is no lease (never claimed, or released). */
  leaseExpiresInMs: number | null;
  status: SessionStatus;
  desiredState: DesiredState;
  /** The last handoffs, newest first. */
  handoffs: HandoffView[];
}
