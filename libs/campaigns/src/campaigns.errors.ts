import { ConflictError, NotFoundError, PayloadTooLargeError } from '@wafleet/core';

export class CampaignNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('campaign_not_found', `No campaign ${JSON.stringify(id)} for this tenant.`);
  }
}

/** The campaign's status does not allow what was asked; `code` says what was refused. */
export class CampaignStateError extends ConflictError {
  constructor(code: string, action: string, status: string, allowed: readonly string[]) {
    super(code, `The campaign is ${status}; it can be ${action} only while ${allowed.join(' or ')}.`, { status });
  }
}

export class CampaignWithoutRecipientsError extends ConflictError {
  constructor() {
    super('campaign_has_no_recipients', 'The campaign has no recipients; add some before starting it.');
  }
}

export class TooManyRecipientsError extends PayloadTooLargeError {
  constructor(limit: number, total: number) {
    super('too_many_recipients', `A campaign holds at most CAMPAIGN_MAX_RECIPIENTS (${limit}) recipients; this would make ${total}.`, { limit, total });
  }
}
