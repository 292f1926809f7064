import { ApiProperty } from '@nestjs/swagger';
import { HANDOFF_REASONS, type HandoffReason } from '@wafleet/registry';
import type { DesiredState, SessionStatus } from '@wafleet/sessions';
import type { ClusterInstanceView, ClusterSessionView, HandoffView } from './cluster.view';

export class ClusterInstanceResponse implements ClusterInstanceView {
  @ApiProperty({ example: 'api-1' }) id: string;
  @ApiProperty({ example: '0.1.0' }) version: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ example: 850, description: "Since the instance's last heartbeat." }) heartbeatAgeMs: number;
  @ApiProperty({ example: 12, description: 'Sessions it holds a live lease on.' }) sessionsOwned: number;
  @ApiProperty({ type: Number, nullable: true, description: 'The most sessions it takes, as it reports; null: no limit.' }) capacity: number | null;
  @ApiProperty({ description: 'Stopping: it hands its sessions over and takes no new ones.' }) draining: boolean;
}

export class HandoffResponse implements HandoffView {
  @ApiProperty({ type: String, nullable: true, description: 'The previous owner; null for a session never owned.' }) from: string | null;
  @ApiProperty() to: string;
  @ApiProperty({ description: 'The lease epoch the new owner claimed.' }) epoch: number;
  @ApiProperty({
    enum: HANDOFF_REASONS,
    description: '`claimed`: never owned before; `released`: its owner gave it up (stop, shutdown); `lapsed`: its lease expired.',
  })
  reason: HandoffReason;
  @ApiProperty({ format: 'date-time' }) at: string;
}

export class ClusterSessionResponse implements ClusterSessionView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ type: String, nullable: true, description: 'The last claimer; it owns the session while the lease is live.' }) owner: string | null;
  @ApiProperty({ description: 'Lease epoch, the fencing token; grows with every claim.' }) epoch: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) leaseExpiresAt: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Negative once lapsed; null without a lease.' }) leaseExpiresInMs: number | null;
  @ApiProperty() status: SessionStatus;
  @ApiProperty({ enum: ['stopped', 'running'] }) desiredState: DesiredState;
  @ApiProperty({ type: [HandoffResponse], description: 'The last 3 handoffs, newest first.' }) handoffs: HandoffResponse[];
}

export class ClusterSessionPageResponse {
  @ApiProperty({ type: [ClusterSessionResponse] }) data: ClusterSessionResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page of sessions; null on the last.' })
  nextCursor: string | null;
}

export class ClusterResponse {
  @ApiProperty({ description: 'The instance that answered.' }) instanceId: string;
  @ApiProperty({ type: [ClusterInstanceResponse], description: 'Every live instance (heard from within HEARTBEAT_TIMEOUT_MS), by id.' })
  instances: ClusterInstanceResponse[];
  @ApiProperty({ type: ClusterSessionPageResponse, description: 'One page of sessions of every tenant, oldest first.' })
  sessions: ClusterSessionPageResponse;
}
