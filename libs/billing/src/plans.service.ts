import { Injectable } from '@nestjs/common';
import { TenantNotFoundError, type Principal } from '@wafleet/auth';
import { decodeCursor, isUuid, toPage, type Page } from '@wafleet/core';
import { randomUUID } from 'node:crypto';
import { DataSource, QueryFailedError } from 'typeorm';
import { PlanInUseError, PlanNameTakenError, PlanNotFoundError } from './billing.errors';
import { PlanLimits } from './plan-limits';
import type { CreatePlanDto, UpdatePlanDto } from './plans.dto';

export interface PlanView {
  id: string;
  name: string;
  requestsPerMinute: number | null;
  messagesPerDay: number | null;
  maxSessions: number | null;
  maxRunningCampaigns: number | null;
  createdAt: Date;
  updatedAt: Date;
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const PLAN_COLUMNS = `id, name, requests_per_minute AS "requestsPerMinute", messages_per_day AS "messagesPerDay", max_sessions AS "maxSessions",
  max_running_campaigns AS "maxRunningCampaigns", created_at AS "createdAt", updated_at AS "updatedAt"`;
/** The DTO fields that may change, and their columns. */
const CHANGEABLE: Array<[keyof UpdatePlanDto, string]> = [
  ['name', 'name'],
  ['requestsPerMinute', 'requests_per_minute'],
  ['messagesPerDay', 'messages_per_day'],
  ['maxSessions', 'max_sessions'],
  ['maxRunningCampaigns', 'max_running_campaigns'],
];

const nameTaken = (error: unknown) => error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION;

/**
 * Plans (admin) and which plan each tenant is on. Every change clears this replica's cache of limits at
 * once; other replicas see it within PLAN_CACHE_TTL_MS.
 */
@Injectable()
export class PlansService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly limits: PlanLimits,
  ) {}

  async create(dto: CreatePlanDto): Promise<PlanView> {
    try {
      const [plan]: PlanView[] = await this.dataSource.query(
        `WITH inserted AS (
           INSERT INTO plans (id, name, requests_per_minute, messages_per_day, max_sessions, max_running_campaigns) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING ${PLAN_COLUMNS})
         SELECT * FROM inserted`,
        [randomUUID(), dto.name, dto.requestsPerMinute ?? null, dto.messagesPerDay ?? null, dto.maxSessions ?? null, dto.maxRunningCampaigns ?? null],
      );
      return plan!;
    } catch (error) {
      if (nameTaken(error)) throw new PlanNameTakenError(dto.name);
      throw error;
    }
  }

  async list(limit: number, cursor?: string): Promise<Page<PlanView>> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows: PlanView[] = await this.dataSource.query(
      `SELECT ${PLAN_COLUMNS} FROM plans ${after ? 'WHERE (created_at, id) > ($2, $3)' : ''} ORDER BY created_at, id LIMIT $1`,
      after ? [limit + 1, after.createdAt, after.id] : [limit + 1],
    );
    return toPage(rows, limit, (row) => row);
  }

  async get(id: string): Promise<PlanView> {
    const [plan]: PlanView[] = isUuid(id) ? await this.dataSource.query(`SELECT ${PLAN_COLUMNS} FROM plans WHERE id = $1`, [id]) : [];
    if (!plan) throw new PlanNotFoundError(id);
    return plan;
  }

  async update(id: string, dto: UpdatePlanDto): Promise<PlanView> {
    const changes = CHANGEABLE.filter(([field]) => dto[field] !== undefined);
    if (!changes.length) return this.get(id);
    if (!isUuid(id)) throw new PlanNotFoundError(id);
    const sets = changes.map(([, column], i) => `${column} = $${i + 2}`).join(', ');
    try {
      const [plan]: PlanView[] = await this.dataSource.query(
        `WITH updated AS (UPDATE plans SET ${sets}, updated_at = now() WHERE id = $1 RETURNING ${PLAN_COLUMNS}) SELECT * FROM updated`,
        [id, ...changes.map(([field]) => dto[field])],
      );
      if (!plan) throw new PlanNotFoundError(id);
      return plan;
    } catch (error) {
      if (nameTaken(error)) throw new PlanNameTakenError(dto.name!);
      throw error;
    } finally {
      this.limits.forgetAll();
    }
  }

  /** A plan some tenant is on is kept: 409 naming how many. */
  async delete(id: string): Promise<void> {
    const plan = await this.get(id);
    const [use]: { tenants: number }[] = await this.dataSource.query(`SELECT count(*)::int AS tenants FROM tenants WHERE plan_id = $1`, [plan.id]);
    if (use!.tenants > 0) throw new PlanInUseError(plan.id, use!.tenants);
    try {
      await this.dataSource.query(`DELETE FROM plans WHERE id = $1`, [plan.id]);
    } catch (error) {
      // A tenant put on the plan between the count and the delete.
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new PlanInUseError(plan.id, 1);
      throw error;
    }
  }

  /** The tenant's plan, null when it has none (no limits); the admin or the tenant itself may ask. */
  async planOf(caller: Principal, tenantId: string): Promise<{ tenantId: string; plan: PlanView | null }> {
    if (!(caller.kind === 'admin' || caller.tenantId === tenantId) || !isUuid(tenantId)) throw new TenantNotFoundError(tenantId);
    const [tenant]: { planId: string | null }[] = await this.dataSource.query(`SELECT plan_id AS "planId" FROM tenants WHERE id = $1`, [tenantId]);
    if (!tenant) throw new TenantNotFoundError(tenantId);
    return { tenantId, plan: tenant.planId ? await this.get(tenant.planId) : null };
  }

  /** Puts the tenant on a plan (null: on none); it applies here at once, everywhere within PLAN_CACHE_TTL_MS. */
  async setPlan(tenantId: string, planId: string | null): Promise<{ tenantId: string; plan: PlanView | null }> {
    if (!isUuid(tenantId)) throw new TenantNotFoundError(tenantId);
    const plan = planId === null ? null : await this.get(planId);
    try {
      const updated: unknown[] = await this.dataSource.query(`WITH updated AS (UPDATE tenants SET plan_id = $2 WHERE id = $1 RETURNING id) SELECT id FROM updated`, [tenantId, plan?.id ?? null]);
      if (!updated.length) throw new TenantNotFoundError(tenantId);
    } catch (error) {
      // The plan was deleted between the read and the update.
      if (planId && error instanceof QueryFailedError && (error.driverError as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new PlanNotFoundError(planId);
      throw error;
    } finally {
      this.limits.forgetAll();
    }
    return { tenantId, plan };
  }
}
