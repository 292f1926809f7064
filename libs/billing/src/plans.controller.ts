import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '@wafleet/auth';
import { ListQueryDto } from '@wafleet/core';
import { CreatePlanDto, PlanPageResponse, PlanResponse, UpdatePlanDto } from './plans.dto';
import { PlansService } from './plans.service';

@ApiTags('plans')
@ApiSecurity('api-key')
@AdminOnly()
@Controller('plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Post()
  @ApiOperation({ summary: 'Create a plan (admin): requests per minute, messages per day, max sessions, max running campaigns; null or absent is no limit.' })
  @ApiCreatedResponse({ type: PlanResponse })
  create(@Body() body: CreatePlanDto) {
    return this.plans.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List plans (admin).' })
  @ApiOkResponse({ type: PlanPageResponse })
  list(@Query() query: ListQueryDto) {
    return this.plans.list(query.limit, query.cursor);
  }

  @Get(':planId')
  @ApiOperation({ summary: 'Get a plan (admin).' })
  @ApiOkResponse({ type: PlanResponse })
  get(@Param('planId') planId: string) {
    return this.plans.get(planId);
  }

  @Patch(':planId')
  @ApiOperation({ summary: 'Change a plan (admin); only the fields given change, null lifts a limit. Applies within PLAN_CACHE_TTL_MS everywhere.' })
  @ApiOkResponse({ type: PlanResponse })
  update(@Param('planId') planId: string, @Body() body: UpdatePlanDto) {
    return this.plans.update(planId, body);
  }

  @Delete(':planId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a plan (admin); 409 while a tenant is on it.' })
  @ApiNoContentResponse()
  async delete(@Param('planId') planId: string) {
    await this.plans.delete(planId);
  }
}
