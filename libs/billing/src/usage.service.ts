import { Injectable } from '@nestjs/common';
import { isUuid, ValidationFailedError } from '@wafleet/core';
import { TenantNotFoundError, type Principal } from '@wafleet/auth';
import { DataSource } from 'typeorm';
import { parseDay, utcDay } from './limit-headers';

export interface UsageDay {
  day: string;
  messagesSent: number;
  messagesReceived: number;
  apiCalls: number;
}

export interface UsageReport {
  tenantId: string;
  from: string;
  to: string;
  days: UsageDay[];
  totals: Omit<UsageDay, 'day'>;
}

/** The longest range one report covers. */
export const MAX_USAGE_DAYS = 366;
/** The range when none is given: the last 30 days, today included. */
const DEFAULT_DAYS = 30;
const DAY_MS = 86_400_000;

/** Daily usage of a tenant, as the admin or the tenant itself may read it; another tenant's is "not found". */
@Injectable()
export class UsageService {
  constructor(private readonly dataSource: DataSource) {}

  /** One entry per day from `from` to `to` (UTC dates, both included), zeros where nothing happened. */
  async report(caller: Principal, tenantId: string, fromRaw?: string, toRaw?: string): Promise<UsageReport> {
    const allowed = caller.kind === 'admin' || caller.tenantId === tenantId;
    if (!allowed || !isUuid(tenantId)) throw new TenantNotFoundError(tenantId);
    const to = toRaw === undefined ? parseDay(utcDay(Date.now()))! : day('to', toRaw);
    const from = fromRaw === undefined ? to - (DEFAULT_DAYS - 1) * DAY_MS : day('from', fromRaw);
    if (from > to) throw new ValidationFailedError([{ field: 'from', problems: ['from must be on or before to'] }]);
    if ((to - from) / DAY_MS + 1 > MAX_USAGE_DAYS) throw new ValidationFailedError([{ field: 'from', problems: [`a report covers at most ${MAX_USAGE_DAYS} days`] }]);
    const [tenant] = await this.dataSource.query(`SELECT id FROM tenants WHERE id = $1`, [tenantId]);
    if (!tenant) throw new TenantNotFoundError(tenantId);
    const rows: { day: string; sent: string; received: string; calls: string }[] = await this.dataSource.query(
      `SELECT to_char(d.day, 'YYYY-MM-DD') AS day, COALESCE(u.messages_sent, 0) AS sent, COALESCE(u.messages_received, 0) AS received, COALESCE(u.api_calls, 0) AS calls
       FROM generate_series($2::date, $3::date, interval '1 day') AS d (day)
       LEFT JOIN usage_daily u ON u.tenant_id = $1 AND u.day = d.day::date
       ORDER BY d.day`,
      [tenantId, utcDay(from), utcDay(to)],
    );
    const days = rows.map((row) => ({ day: row.day, messagesSent: Number(row.sent), messagesReceived: Number(row.received), apiCalls: Number(row.calls) }));
    const totals = days.reduce(
      (sum, d) => ({ messagesSent: sum.messagesSent + d.messagesSent, messagesReceived: sum.messagesReceived + d.messagesReceived, apiCalls: sum.apiCalls + d.apiCalls }),
      { messagesSent: 0, messagesReceived: 0, apiCalls: 0 },
    );
    return { tenantId, from: utcDay(from), to: utcDay(to), days, totals };
  }
}

function day(field: 'from' | 'to', raw: string): number {
  const at = parseDay(raw);
  if (at === undefined) throw new ValidationFailedError([{ field, problems: [`${field} must be a calendar date as YYYY-MM-DD (UTC)`] }]);
  return at;
}
