import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '@wafleet/core';

export class ApiKeyMissingError extends UnauthorizedError {
  constructor() {
    super('api_key_missing', 'Send an API key in the X-API-Key header.');
  }
}

export class ApiKeyInvalidError extends UnauthorizedError {
  constructor() {
    super('api_key_invalid', 'The API key is not valid: unknown, revoked, or its tenant was deleted.');
  }
}

export class AdminOnlyError extends ForbiddenError {
  constructor() {
    super('admin_only', 'Only the admin key may do this.');
  }
}

export class TenantKeyRequiredError extends ForbiddenError {
  constructor() {
    super('tenant_key_required', "This belongs to a tenant: call it with one of the tenant's API keys, not the admin key.");
  }
}

export class TenantNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('tenant_not_found', `No tenant ${JSON.stringify(id)}.`);
  }
}

export class TenantNameTakenError extends ConflictError {
  constructor(name: string) {
    super('tenant_name_taken', `A tenant named ${JSON.stringify(name)} already exists.`);
  }
}

export class ApiKeyNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('api_key_not_found', `No API key ${JSON.stringify(id)} for this tenant.`);
  }
}
