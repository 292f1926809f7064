export { AuthModule } from './auth.module';
export { AdminKey, ADMIN_KEY_FILE } from './admin-key.service';
export { ApiKeysService } from './api-keys.service';
export type { KeyRevocation } from './api-keys.service';
export { TenantsService } from './tenants.service';
export { AdminOnly, Caller, CallerTenant, isPublicRoute, Public, TenantOnly } from './auth.decorators';
export type { Principal } from './auth.decorators';
export { hashKey, keyMatches, newTenantKey, prefixOf } from './api-key.secret';
export { TenantNotFoundError } from './auth.errors';
