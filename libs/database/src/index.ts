export { DatabaseModule } from './database.module';
export { DatabaseEndpoint } from './database-endpoint.service';
export { migrate } from './migrate';
export { MIGRATIONS } from './migrations';
export { DataDirInUseError, lockDataDir } from './embedded/data-dir-lock';
