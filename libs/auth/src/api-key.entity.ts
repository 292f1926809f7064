import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A tenant's API key. Only a SHA-256 hash of the key is stored; the key itself is shown once. */
@Entity({ name: 'api_keys' })
export class ApiKey {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** The key's first characters, kept to find it and to let people tell keys apart. */
  @Column({ name: 'key_prefix', type: 'varchar', length: 16 })
  prefix: string;

  @Column({ name: 'key_hash', type: 'bytea' })
  hash: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
