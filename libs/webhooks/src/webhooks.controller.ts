import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CallerTenant, TenantOnly } from '@wafleet/auth';
import { ListQueryDto } from '@wafleet/core';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { CreateWebhookDto, ListDeliveriesQueryDto, RetryDeliveriesDto, RotateSecretDto, UpdateWebhookDto } from './webhooks.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiSecurity('api-key')
@TenantOnly()
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly webhooks: WebhooksService,
    private readonly deliveries: WebhookDeliveriesService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe an endpoint to events (signed per Standard Webhooks; see docs/webhooks.md).',
    description: 'The answer carries the signing secret; it is not shown again (rotate it to get a new one).',
  })
  @ApiCreatedResponse({ description: 'The subscription, with its secret.' })
  create(@CallerTenant() tenantId: string, @Body() body: CreateWebhookDto) {
    return this.webhooks.create(tenantId, body);
  }

  @Get()
  @ApiOperation({ summary: "The tenant's webhook subscriptions, oldest first." })
  list(@CallerTenant() tenantId: string, @Query() query: ListQueryDto) {
    return this.webhooks.list(tenantId, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One subscription (without its secret).' })
  get(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.webhooks.get(tenantId, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the URL, events, sessions or enabled flag.' })
  update(@CallerTenant() tenantId: string, @Param('id') id: string, @Body() body: UpdateWebhookDto) {
    return this.webhooks.update(tenantId, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete the subscription and its deliveries.' })
  @ApiNoContentResponse()
  async delete(@CallerTenant() tenantId: string, @Param('id') id: string) {
    await this.webhooks.delete(tenantId, id);
  }

  @Post(':id/secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rotate the signing secret.',
    description: 'The new secret is shown once. The previous one keeps signing beside it (two signatures) for WEBHOOK_SECRET_OVERLAP_MS.',
  })
  @ApiOkResponse({ description: 'The subscription, with its new secret.' })
  rotate(@CallerTenant() tenantId: string, @Param('id') id: string, @Body() body: RotateSecretDto) {
    return this.webhooks.rotateSecret(tenantId, id, body.secret);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The subscription's deliveries, newest first; `status` narrows them." })
  listDeliveries(@CallerTenant() tenantId: string, @Param('id') id: string, @Query() query: ListDeliveriesQueryDto) {
    return this.deliveries.list(tenantId, id, query.status, query.limit, query.cursor);
  }

  @Post(':id/deliveries/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retry (or replay) many deliveries: every one of a status, or the listed ids.' })
  retryMany(@CallerTenant() tenantId: string, @Param('id') id: string, @Body() body: RetryDeliveriesDto) {
    return this.deliveries.retryMany(tenantId, id, body);
  }

  @Get(':id/deliveries/:delivery')
  @ApiOperation({ summary: 'One delivery: status, attempts, last response code and error.' })
  getDelivery(@CallerTenant() tenantId: string, @Param('id') id: string, @Param('delivery') delivery: string) {
    return this.deliveries.get(tenantId, id, delivery);
  }

  @Post(':id/deliveries/:delivery/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry (or replay) one delivery now, whatever its status but delivering.',
    description: 'Its attempts start again from 0 under the same webhook-id, so receivers that saw it already can drop it.',
  })
  retry(@CallerTenant() tenantId: string, @Param('id') id: string, @Param('delivery') delivery: string) {
    return this.deliveries.retry(tenantId, id, delivery);
  }
}
