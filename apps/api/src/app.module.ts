import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@wafleet/auth';
import { BillingModule } from '@wafleet/billing';
import { CampaignsModule } from '@wafleet/campaigns';
import { ClusterModule } from '@wafleet/cluster';
import { AppConfig, ConfigModule } from '@wafleet/config';
import { LoggingModule, MetricsModule } from '@wafleet/core';
import { DatabaseModule } from '@wafleet/database';
import { HealthModule } from '@wafleet/health';
import { MessagesModule } from '@wafleet/messages';
import { RealtimeModule } from '@wafleet/realtime';
import { SessionsModule } from '@wafleet/sessions';
import { SyncModule } from '@wafleet/sync';
import { WebhooksModule } from '@wafleet/webhooks';

/**
 * The composition root: which modules make up the server. Order matters in one place: Nest runs global
 * guards in the order their modules come, and BillingModule's request limit needs the caller that
 * AuthModule's ApiKeyGuard finds, so AuthModule comes first.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        SyncModule.forRoot({ ...config.sync, instanceId: config.instanceId, version: config.version, isGlobal: true }),
        AuthModule,
        BillingModule,
        HealthModule,
        SessionsModule,
        MessagesModule,
        CampaignsModule,
        RealtimeModule,
        WebhooksModule,
        ClusterModule,
      ],
    };
  }
}
