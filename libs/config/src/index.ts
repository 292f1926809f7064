export { AppConfig } from './app-config';
export type { DatabaseConfig, LogLevel, SyncConfig, WebhooksConfig } from './app-config';
export { ConfigError, loadConfig } from './config.loader';
export { ConfigModule } from './config.module';
export { renderConfigurationTable, renderEnvExample } from './config.docs';
export { VARIABLES } from './config.variables';
