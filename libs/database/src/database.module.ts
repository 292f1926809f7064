import { Global, Logger, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@wafleet/config';
import { DataSource } from 'typeorm';
import { DatabaseEndpoint } from './database-endpoint.service';
import { migrate } from './migrate';
import { MIGRATIONS } from './migrations';

@Global()
@Module({
  providers: [
    {
      provide: DatabaseEndpoint,
      inject: [AppConfig, ModuleRef],
      useFactory: (config: AppConfig, moduleRef: ModuleRef) => DatabaseEndpoint.open(config, moduleRef),
    },
  ],
  exports: [DatabaseEndpoint],
})
class DatabaseEndpointModule {}

/**
 * TypeORM over the `postgres` driver for both databases, with the same migrations run at boot (never
 * `synchronize`). Entities are registered by the domain modules with `TypeOrmModule.forFeature`.
 */
@Module({
  imports: [
    DatabaseEndpointModule,
    TypeOrmModule.forRootAsync({
      inject: [DatabaseEndpoint],
      useFactory: (endpoint: DatabaseEndpoint) => ({
        type: 'postgres' as const,
        ...endpoint.options,
        autoLoadEntities: true,
        synchronize: false,
        migrations: MIGRATIONS,
        migrationsRun: false,
        retryAttempts: 0,
        applicationName: 'wafleet',
      }),
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        const applied = await migrate(dataSource);
        if (applied.length) new Logger('Database').log({ applied }, 'Migrations applied');
        return dataSource;
      },
    }),
  ],
  exports: [DatabaseEndpointModule],
})
export class DatabaseModule {}
