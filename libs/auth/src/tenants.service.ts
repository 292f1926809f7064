import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { decodeCursor, isUuid, Page, toPage } from '@wafleet/core';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, Repository } from 'typeorm';
import { ApiKeysService, ApiKeyView } from './api-keys.service';
import { TenantNameTakenError, TenantNotFoundError } from './auth.errors';
import type { Principal } from './auth.decorators';
import { Tenant } from './tenant.entity';

export interface TenantView {
  id: string;
  name: string;
  createdAt: Date;
}

const view = (tenant: Tenant): TenantView => ({ id: tenant.id, name: tenant.name, createdAt: tenant.createdAt });
const UNIQUE_VIOLATION = '23505';

/**
 * Tenants and the keys that act for them. The admin sees every tenant; a tenant key sees only its own,
 * and another tenant answers "not found" exactly as a tenant that does not exist.
 */
@Injectable()
export class TenantsService {
  constructor(
    @InjectRepository(Tenant) private readonly tenants: Repository<Tenant>,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async create(name: string): Promise<TenantView> {
    try {
      return view(await this.tenants.save(this.tenants.create({ id: randomUUID(), name })));
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new TenantNameTakenError(name);
      }
      throw error;
    }
  }

  async list(limit: number, cursor?: string): Promise<Page<TenantView>> {
    const query = this.tenants.createQueryBuilder('t').orderBy('t.created_at', 'ASC').addOrderBy('t.id', 'ASC').take(limit + 1);
    if (cursor) query.where('(t.created_at, t.id) > (:createdAt, :id)', decodeCursor(cursor));
    return toPage(await query.getMany(), limit, view);
  }

  async get(caller: Principal, id: string): Promise<TenantView> {
    return view(await this.visible(caller, id));
  }

  /** Deletes the tenant and, with it, all its keys. */
  async delete(id: string): Promise<void> {
    const tenant = await this.visible({ kind: 'admin' }, id);
    await this.tenants.delete({ id: tenant.id });
    this.apiKeys.forgetTenant(tenant.id);
  }

  /**
   * Only the admin issues keys: a leaked tenant key must not be able to mint its successor, or revoking
   * it would not contain the leak. A tenant may list and revoke its own keys.
   */
  async issueKey(tenantId: string, name?: string): Promise<ApiKeyView & { key: string }> {
    const tenant = await this.visible({ kind: 'admin' }, tenantId);
    return this.apiKeys.issue(tenant.id, name);
  }

  async listKeys(caller: Principal, tenantId: string, limit: number, cursor?: string): Promise<Page<ApiKeyView>> {
    const tenant = await this.visible(caller, tenantId);
    return this.apiKeys.list(tenant.id, limit, cursor);
  }

  async revokeKey(caller: Principal, tenantId: string, keyId: string): Promise<void> {
    const tenant = await this.visible(caller, tenantId);
    await this.apiKeys.revoke(tenant.id, keyId);
  }

  private async visible(caller: Principal, id: string): Promise<Tenant> {
    const allowed = caller.kind === 'admin' || caller.tenantId === id;
    const tenant = allowed && isUuid(id) ? await this.tenants.findOneBy({ id }) : null;
    if (!tenant) throw new TenantNotFoundError(id);
    return tenant;
  }
}
