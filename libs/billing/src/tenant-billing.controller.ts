import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly, Caller, type Principal } from '@wafleet/auth';
import { SetTenantPlanDto, TenantPlanResponse, UsageQueryDto, UsageResponse } from './plans.dto';
import { PlansService } from './plans.service';
import { UsageService } from './usage.service';

/** A tenant's plan and usage, under the tenant's own path. */
@ApiTags('tenants')
@ApiSecurity('api-key')
@Controller('tenants/:tenantId')
export class TenantBillingController {
  constructor(
    private readonly plans: PlansService,
    private readonly usage: UsageService,
  ) {}

  @Get('plan')
  @ApiOperation({ summary: "The tenant's plan; null when it has none, which means no limits (admin, or a key of that tenant)." })
  @ApiOkResponse({ type: TenantPlanResponse })
  plan(@Caller() caller: Principal, @Param('tenantId') tenantId: string) {
    return this.plans.planOf(caller, tenantId);
  }

  @Put('plan')
  @AdminOnly()
  @ApiOperation({ summary: 'Put the tenant on a plan, or on none with null (admin).' })
  @ApiOkResponse({ type: TenantPlanResponse })
  setPlan(@Param('tenantId') tenantId: string, @Body() body: SetTenantPlanDto) {
    return this.plans.setPlan(tenantId, body.planId);
  }

  @Get('usage')
  @ApiOperation({
    summary: 'Usage per UTC day: messages sent and received, API calls (admin, or a key of that tenant).',
    description: `One entry per day from \`from\` to \`to\`, both included, at most 366 days; by default the last 30 days.`,
  })
  @ApiOkResponse({ type: UsageResponse })
  report(@Caller() caller: Principal, @Param('tenantId') tenantId: string, @Query() query: UsageQueryDto) {
    return this.usage.report(caller, tenantId, query.from, query.to);
  }
}
