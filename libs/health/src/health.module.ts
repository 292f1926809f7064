import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '@wafleet/auth';
import { DrainService } from './drain.service';
import { HealthController } from './health.controller';
import { HttpMetrics } from './http-metrics.service';
import { MetricsController } from './metrics.controller';
import { MetricsGuard } from './metrics.guard';

/** /health, /health/ready and /metrics, plus draining on stop signals. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), AuthModule],
  controllers: [HealthController, MetricsController],
  providers: [DrainService, HttpMetrics, MetricsGuard],
  exports: [DrainService],
})
export class HealthModule {}
