import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Registry } from 'prom-client';
import { ApiCallUsage } from './api-call-usage';
import { BillingMetrics } from './billing.metrics';
import { PlanLimits } from './plan-limits';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { Quotas } from './quotas.service';
import { RequestLimitGuard } from './request-limit.guard';
import { TenantBillingController } from './tenant-billing.controller';
import { UsageService } from './usage.service';

/** Plans, the limits they set (enforced once across replicas), and usage per tenant per day. */
@Module({
  controllers: [PlansController, TenantBillingController],
  providers: [
    { provide: BillingMetrics, inject: [Registry], useFactory: (registry: Registry) => new BillingMetrics(registry) },
    PlanLimits,
    Quotas,
    PlansService,
    UsageService,
    ApiCallUsage,
    { provide: APP_GUARD, useClass: RequestLimitGuard },
  ],
  exports: [Quotas],
})
export class BillingModule {}
