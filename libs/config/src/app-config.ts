export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { kind: 'embedded'; dataDir: string }
  | { kind: 'postgres'; url: string; poolSize: number; dataDir: string };

export interface SyncConfig {
  backend: 'memory' | 'redis';
  redisUrl: string;
  keyPrefix: string;
  sentinels?: Array<{ host: string; port: number }>;
  sentinelName: string;
  commandTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  busMaxPayloadBytes: number;
  rendezvousTtlMs: number;
}

/**
 * The whole configuration, read once at boot from the environment and validated.
 * Injected by class; nothing else in wafleet reads `process.env`.
 */
export class AppConfig {
  readonly instanceId: string;
  /** wafleet's own version, from package.json. */
  readonly version: string;
  readonly http: { host: string; port: number; bodyLimitBytes: number; trustProxy: boolean | string[] };
  readonly logLevel: LogLevel;
  readonly database: DatabaseConfig;
  readonly auth: { adminApiKey?: string; apiKeyCacheTtlMs: number };
  readonly metrics: { apiKey?: string };
  readonly sync: SyncConfig;
  readonly shutdown: { drainMs: number; timeoutMs: number };
  readonly docsEnabled: boolean;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}
