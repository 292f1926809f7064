import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ListQueryDto } from '@wafleet/core';
import { AdminOnly, Caller, type Principal } from './auth.decorators';
import {
  ApiKeyPageResponse,
  CreateApiKeyDto,
  CreatedApiKeyResponse,
  CreateTenantDto,
  TenantPageResponse,
  TenantResponse,
} from './tenants.dto';
import { TenantsService } from './tenants.service';

@ApiTags('tenants')
@ApiSecurity('api-key')
@Controller('tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @AdminOnly()
  @ApiOperation({ summary: 'Create a tenant (admin).' })
  @ApiCreatedResponse({ type: TenantResponse })
  create(@Body() body: CreateTenantDto) {
    return this.tenants.create(body.name);
  }

  @Get()
  @AdminOnly()
  @ApiOperation({ summary: 'List tenants (admin).' })
  @ApiOkResponse({ type: TenantPageResponse })
  list(@Query() query: ListQueryDto) {
    return this.tenants.list(query.limit, query.cursor);
  }

  @Get(':tenantId')
  @ApiOperation({ summary: 'Get a tenant (admin, or a key of that tenant).' })
  @ApiOkResponse({ type: TenantResponse })
  get(@Caller() caller: Principal, @Param('tenantId') tenantId: string) {
    return this.tenants.get(caller, tenantId);
  }

  @Delete(':tenantId')
  @AdminOnly()
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a tenant and its keys (admin).' })
  @ApiNoContentResponse()
  async delete(@Param('tenantId') tenantId: string) {
    await this.tenants.delete(tenantId);
  }

  @Post(':tenantId/api-keys')
  @AdminOnly()
  @ApiOperation({ summary: 'Issue an API key for the tenant (admin); the key is shown only in this answer.' })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  issueKey(@Param('tenantId') tenantId: string, @Body() body: CreateApiKeyDto) {
    return this.tenants.issueKey(tenantId, body.name);
  }

  @Get(':tenantId/api-keys')
  @ApiOperation({ summary: "List the tenant's API keys, prefix only (admin, or a key of that tenant)." })
  @ApiOkResponse({ type: ApiKeyPageResponse })
  listKeys(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Query() query: ListQueryDto) {
    return this.tenants.listKeys(caller, tenantId, query.limit, query.cursor);
  }

  @Delete(':tenantId/api-keys/:keyId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an API key (admin, or a key of that tenant); it stops working at once here and within API_KEY_CACHE_TTL_MS everywhere.',
  })
  @ApiNoContentResponse()
  async revokeKey(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Param('keyId') keyId: string) {
    await this.tenants.revokeKey(caller, tenantId, keyId);
  }
}
