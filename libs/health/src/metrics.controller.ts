import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { Public } from '@wafleet/auth';
import { Registry } from 'prom-client';
import { MetricsGuard } from './metrics.guard';

@ApiTags('health')
@Public()
@UseGuards(MetricsGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @ApiBearerAuth('metrics-key')
  @ApiSecurity('api-key')
  @ApiOperation({ summary: 'Prometheus metrics: Bearer METRICS_API_KEY, or the admin key as X-API-Key.' })
  @ApiOkResponse({ content: { 'text/plain': { schema: { type: 'string' } } } })
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
