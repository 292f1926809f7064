import { Injectable } from '@nestjs/common';
import { QuotaExceededError, QuotaUnavailableError, Quotas, type TakenMessage } from '@wafleet/billing';

/**
 * What the quota says to one more campaign message: go (with the unit to give back if none is queued),
 * the tenant's quota is used up, or it cannot tell now.
 */
export type QuotaAnswer = { outcome: 'allowed'; taken: TakenMessage } | { outcome: 'exceeded' } | { outcome: 'unavailable' };

/**
 * The tenant's daily message quota (libs/billing), asked before each campaign message is queued, so API
 * and campaign sends draw on the one quota. `exceeded` stops the campaign with reason `quota_exceeded`;
 * `unavailable` (Redis cannot be asked: the quota fails closed) makes the runner wait and ask again.
 */
@Injectable()
export class CampaignQuota {
  constructor(private readonly quotas: Quotas) {}

  async takeMessage(tenantId: string): Promise<QuotaAnswer> {
    try {
      return { outcome: 'allowed', taken: await this.quotas.takeMessage(tenantId) };
    } catch (error) {
      if (error instanceof QuotaExceededError) return { outcome: 'exceeded' };
      if (error instanceof QuotaUnavailableError) return { outcome: 'unavailable' };
      throw error;
    }
  }
}
