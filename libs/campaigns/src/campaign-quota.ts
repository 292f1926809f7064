import { Injectable } from '@nestjs/common';
import { QuotaExceededError, QuotaUnavailableError, Quotas } from '@wafleet/billing';

/** What the quota says to one more campaign message: go, the tenant's quota is used up, or it cannot tell now. */
export type QuotaAnswer = 'allowed' | 'exceeded' | 'unavailable';

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
      await this.quotas.takeMessage(tenantId);
      return 'allowed';
    } catch (error) {
      if (error instanceof QuotaExceededError) return 'exceeded';
      if (error instanceof QuotaUnavailableError) return 'unavailable';
      throw error;
    }
  }
}
