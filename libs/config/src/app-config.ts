export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { kind: 'embedded'; dataDir: string }
  | { kind: 'postgres'; url: string; poolSize: number; dataDir: string };

/**
 * The whole configuration, read once at boot from the environment and validated.
 * Injected by class; nothing else in wafleet reads `process.env`.
 */
export class AppConfig {
  readonly instanceId: string;
  readonly http: { host: string; port: number; bodyLimitBytes: number; trustProxy: boolean | string[] };
  readonly logLevel: LogLevel;
  readonly database: DatabaseConfig;
  readonly auth: { adminApiKey?: string; apiKeyCacheTtlMs: number };
  readonly metrics: { apiKey?: string };
  readonly sync: { backend: 'memory' | 'redis'; redisUrl: string };
  readonly shutdown: { drainMs: number; timeoutMs: number };
  readonly docsEnabled: boolean;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}
