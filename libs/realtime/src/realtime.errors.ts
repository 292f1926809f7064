import { ForbiddenError, NotFoundError, UnauthorizedError } from '@wafleet/core';

/** Some sessions of a `subscribe` are unknown, or another tenant's; nothing was subscribed. */
export class SessionsNotFoundError extends NotFoundError {
  constructor(refs: string[]) {
    super('session_not_found', `No session ${refs.map((ref) => JSON.stringify(ref)).join(', ')}; nothing was subscribed.`, { sessions: refs });
  }
}

export class SocketKeyMissingError extends UnauthorizedError {
  constructor() {
    super('api_key_missing', "Send a tenant API key: io(url + '/events', { auth: { apiKey } }), or the x-api-key header.");
  }
}

export class SocketKeyInvalidError extends UnauthorizedError {
  constructor() {
    super('api_key_invalid', 'The API key is not valid: unknown, revoked, or its tenant was deleted.');
  }
}

export class SocketTenantKeyRequiredError extends ForbiddenError {
  constructor() {
    super('tenant_key_required', "Events belong to a tenant: connect with one of the tenant's API keys, not the admin key.");
  }
}
