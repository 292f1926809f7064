import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '@wafleet/auth';
import { AppConfig } from '@wafleet/config';
import { SyncBindings } from '@wafleet/sync';
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
    private readonly sync: SyncBindings,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers. No API key.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', instanceId: 'api-1', uptimeMs: 1234 } } })
  live() {
    return { status: 'ok', instanceId: this.config.instanceId, uptimeMs: Date.now() - this.startedAt };
  }

  /**
   * 503 while draining or when the database does not answer. Redis down is `degraded`, still 200: every
   * replica shares the one Redis, so failing readiness on it would take them all out of the balancer at
   * once, while requests that need no coordination (and sessions owned locally) still work.
   */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the process is not draining; Redis down is "degraded", still 200. No API key.' })
  @ApiOkResponse({ schema: { example: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: {}, sync: { backend: 'redis', up: true } } } })
  @ApiServiceUnavailableResponse({ description: 'Draining after a stop signal, or the database is down.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    if (this.drain.draining) {
      reply.status(503);
      return { status: 'draining', instanceId: this.config.instanceId };
    }
    const sync = this.sync.status();
    try {
      const result = await this.health.check([() => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS })]);
      return { ...result, status: sync.up ? 'ok' : 'degraded', sync };
    } catch (error) {
      reply.status(503);
      return { ...((error as { response?: object }).response ?? { status: 'error' }), sync };
    }
  }
}
