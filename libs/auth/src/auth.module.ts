import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@wafleet/config';
import { AdminKey } from './admin-key.service';
import { ApiKey } from './api-key.entity';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysService } from './api-keys.service';
import { Tenant } from './tenant.entity';
import { TenantsController } from './tenants.controller';
import { TenantsService } from './tenants.service';

/** Tenants, their API keys, the admin key, and the guard that puts every route behind `X-API-Key`. */
@Module({
  imports: [TypeOrmModule.forFeature([Tenant, ApiKey])],
  controllers: [TenantsController],
  providers: [
    { provide: AdminKey, inject: [AppConfig], useFactory: (config: AppConfig) => AdminKey.load(config) },
    ApiKeysService,
    TenantsService,
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [AdminKey, ApiKeysService],
})
export class AuthModule {}
