import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AppConfig } from '@wafleet/config';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { EmbeddedPostgres } from './embedded/embedded-postgres';

/**
 * Where the database is: the configured PostgreSQL, or the embedded one this process opens. On shutdown
 * it destroys the DataSource itself before closing the embedded database, so the order does not depend
 * on which module Nest happens to shut down first (TypeORM's own hook then finds it closed).
 */
export class DatabaseEndpoint implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  private constructor(
    readonly options: Pick<DataSourceOptions & { type: 'postgres' }, 'url' | 'host' | 'port' | 'username' | 'database' | 'extra'>,
    private readonly moduleRef: ModuleRef,
    private readonly embedded?: EmbeddedPostgres,
  ) {}

  static async open(config: AppConfig, moduleRef: ModuleRef): Promise<DatabaseEndpoint> {
    const database = config.database;
    if (database.kind === 'postgres') {
      return new DatabaseEndpoint({ url: database.url, extra: { max: database.poolSize } }, moduleRef);
    }
    const startedAt = Date.now();
    const embedded = await EmbeddedPostgres.open(database.dataDir);
    new Logger('Database').log({ dataDir: database.dataDir, created: embedded.created ?? null, ms: Date.now() - startedAt }, 'Embedded database open');
    // PGlite serves one connection at a time: a larger pool would only queue inside the socket server, and
    // an idle timeout would make the pool reconnect while the server may still count the old connection.
    return new DatabaseEndpoint(
      { host: embedded.socketDir, port: 5432, username: 'postgres', database: 'postgres', extra: { max: 1, idleTimeoutMillis: 0 } },
      moduleRef,
      embedded,
    );
  }

  get kind(): 'embedded' | 'postgres' {
    return this.embedded ? 'embedded' : 'postgres';
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource?.isInitialized) await dataSource.destroy();
    await this.embedded.close();
    this.logger.log('Embedded database closed');
  }
}
