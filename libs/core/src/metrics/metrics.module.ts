import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One Prometheus registry per application, labelled with the instance id. Modules register their
 * metrics on it; libs/health serves it at /metrics.
 */
@Global()
@Module({
  providers: [
    {
      provide: Registry,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const registry = new Registry();
        registry.setDefaultLabels({ instance: config.instanceId });
        collectDefaultMetrics({ register: registry });
        return registry;
      },
    },
  ],
  exports: [Registry],
})
export class MetricsModule {}
