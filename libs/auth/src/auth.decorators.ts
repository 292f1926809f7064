import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

/** Who is calling: the admin, or one of a tenant's keys. */
export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

export const PUBLIC_ROUTE = 'wafleet:public';
export const ADMIN_ONLY = 'wafleet:admin-only';

/** The route needs no API key (health checks). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Only the admin key may call the route; a tenant key gets 403. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/** The caller of the current request, set by ApiKeyGuard. */
export const Caller = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
