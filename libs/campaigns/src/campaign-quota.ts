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

/**
 * Queues one campaign message under the quota unit taken for it. The unit is spent only on a message
 * queued: when nothing was (the campaign was busy, done or stopped meanwhile, or queueing failed), it
 * goes back to the day it came from.
 */
export async function queueUnder<T extends { outcome: string }>(taken: TakenMessage, enqueue: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await enqueue();
  } catch (error) {
    await taken.giveBack();
    throw error;
  }
  if (result.outcome !== 'queued') await taken.giveBack();
  return result;
}
