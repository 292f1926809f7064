import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { AppConfig } from '@wafleet/config';
import { decodeCursor, isUuid, Page, toPage } from '@wafleet/core';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { In, IsNull, Repository } from 'typeorm';
import { ApiKey } from './api-key.entity';
import { hashKey, keyMatches, looksLikeTenantKey, newTenantKey, prefixOf } from './api-key.secret';
import { ApiKeyNotFoundError } from './auth.errors';


export interface ApiKeyView {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

interface CachedKey {
  keyId: string;
  tenantId: string;
  expiresAt: number;
}

const CACHE_LIMIT = 10_000;

/** Keys that stopped working: one key (`keyId`), or all of a deleted tenant's. */
export interface KeyRevocation {
  tenantId: string;
  keyId?: string;
}

const view = (key: ApiKey): ApiKeyView => ({
  id: key.id,
  tenantId: key.tenantId,
  name: key.name,
  prefix: key.prefix,
  createdAt: key.createdAt,
  lastUsedAt: key.lastUsedAt,
  revokedAt: key.revokedAt,
});

/**
 * Tenant API keys: issue, list, revoke, and check a presented key. A checked key is trusted for
 * `API_KEY_CACHE_TTL_MS`; revoking drops it from this replica's cache at once, and tells this replica's
 * `onRevoked` listeners (long-lived connections made with the key, such as Socket.IO's).
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger('ApiKeys');
  private readonly cache = new Map<string, CachedKey>();
  /** Bumped by every revocation, so a lookup that raced with one does not cache what it read. */
  private revocations = 0;
  private readonly revoked = new EventEmitter();

  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly config: AppConfig,
  ) {}

  /** Issues a key; the returned `key` is the only time it is ever shown. */
  async issue(tenantId: string, name = 'default'): Promise<ApiKeyView & { key: string }> {
    const key = newTenantKey();
    const row = await this.keys.save(
      this.keys.create({ id: randomUUID(), tenantId, name, prefix: prefixOf(key), hash: hashKey(key), lastUsedAt: null, revokedAt: null }),
    );
    return { ...view(row), key };
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<Page<ApiKeyView>> {
    const query = this.keys
      .createQueryBuilder('k')
      .where('k.tenant_id = :tenantId', { tenantId })
      .orderBy('k.created_at', 'ASC')
      .addOrderBy('k.id', 'ASC')
      .take(limit + 1);
    if (cursor) {
      const after = decodeCursor(cursor);
      query.andWhere('(k.created_at, k.id) > (:createdAt, :id)', after);
    }
    return toPage(await query.getMany(), limit, view);
  }

  /** Revokes a key of the tenant; revoking twice is harmless. */
  async revoke(tenantId: string, keyId: string): Promise<void> {
    const key = isUuid(keyId) ? await this.keys.findOneBy({ id: keyId, tenantId }) : null;
    if (!key) throw new ApiKeyNotFoundError(keyId);
    await this.keys.update({ id: keyId, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    this.forget((cached) => cached.keyId === keyId);
    this.announce({ tenantId, keyId });
  }

  /** Drops every cached key of a tenant (the tenant is being deleted). */
  forgetTenant(tenantId: string): void {
    this.forget((cached) => cached.tenantId === tenantId);
    this.announce({ tenantId });
  }

  /**
   * Calls `listener` after each revocation served by this replica (other replicas learn of it from the
   * database, within API_KEY_CACHE_TTL_MS). @returns a function that stops listening
   */
  onRevoked(listener: (revocation: KeyRevocation) => void): () => void {
    this.revoked.on('revoked', listener);
    return () => this.revoked.off('revoked', listener);
  }

  /** Which of these key ids no longer work: revoked, or gone with their tenant. */
  async deadAmong(keyIds: string[]): Promise<string[]> {
    if (!keyIds.length) return [];
    const live = new Set((await this.keys.find({ select: { id: true }, where: { id: In(keyIds), revokedAt: IsNull() } })).map((key) => key.id));
    return keyIds.filter((id) => !live.has(id));
  }

  /** The key's id and tenant when it is live, else undefined. `presentedHash` saves hashing it again (hashKey). */
  async authenticate(presented: string, presentedHash?: Buffer): Promise<{ keyId: string; tenantId: string } | undefined> {
    if (!looksLikeTenantKey(presented)) return undefined;
    const hash = presentedHash ?? hashKey(presented);
    const cacheKey = hash.toString('base64');
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expiresAt > Date.now()) return cached;

    const revocationsBefore = this.revocations;
    const candidates = await this.keys.findBy({ prefix: prefixOf(presented), revokedAt: IsNull() });
    const match = candidates.find((candidate) => keyMatches(hash, candidate.hash));
    if (!match) {
      this.cache.delete(cacheKey);
      return undefined;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    const entry = { keyId: match.id, tenantId: match.tenantId, expiresAt: Date.now() + this.config.auth.apiKeyCacheTtlMs };
    if (this.config.auth.apiKeyCacheTtlMs > 0 && this.revocations === revocationsBefore) this.cache.set(cacheKey, entry);
    // Bookkeeping only: a failure here must not turn a valid call into an error.
    await this.keys.update({ id: match.id }, { lastUsedAt: () => 'now()' }).catch((error: Error) =>
      this.logger.warn({ keyId: match.id, err: error }, 'Could not record lastUsedAt'),
    );
    return entry;
  }

  private announce(revocation: KeyRevocation): void {
    for (const listener of this.revoked.listeners('revoked')) {
      try {
        (listener as (revocation: KeyRevocation) => void)(revocation);
      } catch (error) {
        this.logger.warn({ err: error }, 'a revocation listener failed');
      }
    }
  }

  private forget(predicate: (cached: CachedKey) => boolean): void {
    this.revocations++;
    for (const [cacheKey, cached] of this.cache) if (predicate(cached)) this.cache.delete(cacheKey);
  }
}
