import { ConflictError, DomainError, ForbiddenError, NotFoundError, ServiceUnavailableError } from '@wafleet/core';
import { rateLimitHeaders, retryAfterSeconds, type LimitState } from './limit-headers';

/** 429: the caller is over a limit of its plan; the headers say which limit and when it resets. */
abstract class TooManyRequestsError extends DomainError {
  readonly status = 429;
  constructor(code: string, message: string, state: LimitState, retryAfterMs: number, details: Record<string, unknown>) {
    super(code, message, details);
    Object.assign(this.headers, rateLimitHeaders(state), { 'Retry-After': String(retryAfterSeconds(retryAfterMs)) });
  }
}

export class RateLimitedError extends TooManyRequestsError {
  constructor(state: LimitState) {
    super('rate_limited', `Over the plan's ${state.limit} requests per window; retry after the window resets.`, state, state.resetMs, { limit: 'requestsPerMinute', value: state.limit });
  }
}

export class QuotaExceededError extends TooManyRequestsError {
  constructor(state: LimitState) {
    super('quota_exceeded', `The plan's ${state.limit} messages for today (UTC) are used up; the quota starts over at UTC midnight.`, state, state.resetMs, {
      limit: 'messagesPerDay',
      value: state.limit,
    });
  }
}

/** The daily quota cannot be checked (the coordination backend is down): no unmetered send goes out. */
export class QuotaUnavailableError extends ServiceUnavailableError {
  constructor() {
    super('quota_unavailable', 'The daily message quota cannot be checked right now, so the message was not accepted; retry shortly.');
    this.headers['Retry-After'] = '5';
  }
}

export type PlanLimitName = 'maxSessions' | 'maxRunningCampaigns';

export class PlanLimitReachedError extends ForbiddenError {
  constructor(limit: PlanLimitName, value: number) {
    super('plan_limit_reached', `The plan allows ${value} (${limit}); that many are in use already.`, { limit, value });
  }
}

export class PlanNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('plan_not_found', `No plan ${JSON.stringify(id)}.`);
  }
}

export class PlanNameTakenError extends ConflictError {
  constructor(name: string) {
    super('plan_name_taken', `A plan named ${JSON.stringify(name)} already exists.`);
  }
}

export class PlanInUseError extends ConflictError {
  constructor(id: string, tenants: number) {
    super('plan_in_use', `Plan ${JSON.stringify(id)} is in use by ${tenants} tenant(s); move them to another plan first.`, { tenants });
  }
}
