export { AuthModule } from './auth.module';
export { AdminKey, ADMIN_KEY_FILE } from './admin-key';
export { ApiKeysService } from './api-keys.service';
export { TenantsService } from './tenants.service';
export { AdminOnly, Caller, Public } from './principal';
export type { Principal } from './principal';
export { hashKey, keyMatches, newTenantKey, prefixOf } from './api-key.secret';
