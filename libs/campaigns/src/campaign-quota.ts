import { Injectable } from '@nestjs/common';

/** What the quota says to one more campaign message: go, the tenant's quota is used up, or it cannot tell now. */
export type QuotaAnswer = 'allowed' | 'exceeded' | 'unavailable';

/**
 * The tenant's message quota, asked before each campaign message is queued. This default allows every
 * message; the billing module binds its daily quota in its place (`{ provide: CampaignQuota, useClass: … }`).
 * `exceeded` stops the campaign with reason `quota_exceeded`; `unavailable` makes the runner wait and ask again.
 */
@Injectable()
export class CampaignQuota {
  async takeMessage(_tenantId: string): Promise<QuotaAnswer> {
    return 'allowed';
  }
}
