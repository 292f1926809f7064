import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/** Who is calling: the admin, or one of a tenant's keys. */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

export const PUBLIC_ROUTE = 'wafleet:public';
export const ADMIN_ONLY = 'wafleet:admin-only';
export const TENANT_ONLY = 'wafleet:tenant-only';

/** The route needs no API key (health checks). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Whether the route of `context` is @Public(), on its handler or its controller. */
export const isPublicRoute = (reflector: Reflector, context: ExecutionContext): boolean =>
  reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]) === true;

/** Only the admin key may call the route; a tenant key gets 403. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/**
 * Only a tenant key may call the route (what it acts on belongs to one tenant, such as a session); the
 * admin key gets 403.
 */
export const TenantOnly = () => SetMetadata(TENANT_ONLY, true);

/** The caller of the current request, set by ApiKeyGuard. */
export const Caller = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest<{ principal: Principal }>().principal,
);

/** The calling key's tenant, on @TenantOnly() routes. */
export const CallerTenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const principal = context.switchToHttp().getRequest<{ principal: Principal }>().principal;
  if (principal.kind !== 'tenant') throw new Error('@CallerTenant() used on a route that is not @TenantOnly()');
  return principal.tenantId;
});
