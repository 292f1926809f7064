import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AdminKey } from './admin-key.service';
import { hashKey } from './api-key.secret';
import { ApiKeysService } from './api-keys.service';
import { AdminOnlyError, ApiKeyInvalidError, ApiKeyMissingError, TenantKeyRequiredError } from './auth.errors';
import { ADMIN_ONLY, isPublicRoute, TENANT_ONLY, type Principal } from './auth.decorators';

interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}

/** Every route needs `X-API-Key` unless marked @Public(); @AdminOnly() routes refuse tenant keys, @TenantOnly() ones the admin key. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly adminKey: AdminKey,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (isPublicRoute(this.reflector, context)) return true;
    const targets = [context.getHandler(), context.getClass()];
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = await this.identify(request.headers['x-api-key']);
    if (request.principal.kind !== 'admin' && this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets)) {
      throw new AdminOnlyError();
    }
    if (request.principal.kind === 'admin' && this.reflector.getAllAndOverride<boolean>(TENANT_ONLY, targets)) {
      throw new TenantKeyRequiredError();
    }
    return true;
  }

  private async identify(header: string | string[] | undefined): Promise<Principal> {
    const presented = Array.isArray(header) ? header[0] : header;
    if (!presented) throw new ApiKeyMissingError();
    const hash = hashKey(presented);
    if (this.adminKey.matches(hash)) return { kind: 'admin' };
    const key = await this.apiKeys.authenticate(presented, hash);
    if (!key) throw new ApiKeyInvalidError();
    return { kind: 'tenant', tenantId: key.tenantId, keyId: key.keyId };
  }
}
