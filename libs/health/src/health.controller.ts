import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '@wafleet/auth';
import { AppConfig } from '@wafleet/config';
import type { FastifyReply } from 'fastify';
import { DrainService } from './drain.service';

const DATABASE_PING_TIMEOUT_MS = 3000;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly drain: DrainService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers. No API key.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', instanceId: 'api-1', uptimeMs: 1234 } } })
  live() {
    return { status: 'ok', instanceId: this.config.instanceId, uptimeMs: Date.now() - this.startedAt };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the process is not draining. No API key.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: {} } } })
  @ApiServiceUnavailableResponse({ description: 'Draining after a stop signal, or a dependency is down.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    if (this.drain.draining) {
      reply.status(503);
      return { status: 'draining', instanceId: this.config.instanceId };
    }
    try {
      return await this.health.check([() => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS })]);
    } catch (error) {
      reply.status(503);
      return (error as { response?: unknown }).response ?? { status: 'error' };
    }
  }
}
