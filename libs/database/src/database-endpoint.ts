import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import type { DataSourceOptions } from 'typeorm';
import { EmbeddedPostgres } from './embedded/embedded-postgres';

/**
 * Where the database is: the configured PostgreSQL, or the embedded one this process opens. Closing the
 * embedded database is the last thing the process does, after the DataSource has been destroyed.
 */
export class DatabaseEndpoint implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  private constructor(
    readonly options: Pick<DataSourceOptions & { type: 'postgres' }, 'url' | 'host' | 'port' | 'username' | 'database' | 'extra'>,
    private readonly embedded?: EmbeddedPostgres,
  ) {}

  static async open(config: AppConfig): Promise<DatabaseEndpoint> {
    const database = config.database;
    if (database.kind === 'postgres') {
      return new DatabaseEndpoint({ url: database.url, extra: { max: database.poolSize } });
    }
    const startedAt = Date.now();
    const embedded = await EmbeddedPostgres.open(database.dataDir);
    new Logger('Database').log({ dataDir: database.dataDir, ms: Date.now() - startedAt }, 'Embedded database open');
    // PGlite serves one connection at a time; a larger pool would only queue inside the socket server.
    return new DatabaseEndpoint(
      { host: embedded.socketDir, port: 5432, username: 'postgres', database: 'postgres', extra: { max: 1 } },
      embedded,
    );
  }

  get kind(): 'embedded' | 'postgres' {
    return this.embedded ? 'embedded' : 'postgres';
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    await this.embedded.close();
    this.logger.log('Embedded database closed');
  }
}
