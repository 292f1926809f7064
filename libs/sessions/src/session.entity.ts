import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Where a session is in its life, as the API reports it. */
export type SessionStatus = 'stopped' | 'starting' | 'scan_qr' | 'working' | 'failed' | 'logged_out' | 'qr_expired';

/** What the user asked for: a running session is started again after a restart (or on another replica). */
export type DesiredState = 'stopped' | 'running';

/** The linked account: `id` is the device jid (`<phone>:<device>@s.whatsapp.net`). */
export interface SessionMe {
  id: string;
  name?: string;
}

@Entity({ name: 'sessions' })
export class Session {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'jsonb' })
  metadata: Record<string, unknown>;

  @Column({ type: 'varchar', length: 20 })
  status: SessionStatus;

  @Column({ name: 'desired_state', type: 'varchar', length: 10 })
  desiredState: DesiredState;

  @Column({ type: 'jsonb', nullable: true })
  me: SessionMe | null;

  @Column({ name: 'owner_instance_id', type: 'varchar', length: 64, nullable: true })
  ownerInstanceId: string | null;

  /** The fencing token; a bigint, so it stays a string in JavaScript. */
  @Column({ name: 'lease_epoch', type: 'bigint' })
  leaseEpoch: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
