export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type DatabaseConfig =
  | { kind: 'embedded'; dataDir: string }
  | { kind: 'postgres'; url: string; poolSize: number; dataDir: string };

/** How replicas coordinate (libs/sync). */
export interface SyncConfig {
  /** `memory` for one process, `redis` for several. @default 'memory' */
  backend: 'memory' | 'redis';
  /** @default 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /** Put before every key and channel. @default 'wafleet:' */
  keyPrefix: string;
  /** Sentinel addresses; when given, `sentinelName`'s master is used. @default undefined */
  sentinels?: Array<{ host: string; port: number }>;
  /** @default 'mymaster' */
  sentinelName: string;
  /** Longest wait for one Redis command. @default 1000 */
  commandTimeoutMs: number;
  /** @default 2000 */
  heartbeatIntervalMs: number;
  /** @default 10000 */
  heartbeatTimeoutMs: number;
  /** @default 1048576 */
  busMaxPayloadBytes: number;
  /** How long an early rendezvous signal is kept. @default 30000 */
  rendezvousTtlMs: number;
}

/** How webhooks are delivered. */
export interface WebhooksConfig {
  /** Requests in flight per replica. @default 32 */
  concurrency: number;
  /** @default 15000 */
  timeoutMs: number;
  /** Waits after each failed attempt; one more attempt than entries. @default [5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h] */
  retryScheduleMs: number[];
  /** @default false */
  allowPrivate: boolean;
  /** @default 25 */
  maxPerTenant: number;
  /** @default 86400000 */
  secretOverlapMs: number;
  /** @default 1000 */
  pollMs: number;
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
  /**
   * Session ownership: a lease on each session row lasts `leaseTtlMs` unless renewed; `maxSessions` (0: no
   * limit) caps and weighs this replica; `rebalancePerMinute` bounds handovers toward a fair share.
   */
  readonly registry: { leaseTtlMs: number; maxSessions: number; rebalancePerMinute: number };
  /** How sessions reach WhatsApp. `waWebSocketUrl` undefined means WhatsApp's own servers. */
  readonly engines: { waWebSocketUrl?: string; keepAliveMs: number };
  readonly messages: { mediaMaxBytes: number; mediaUrlAllowPrivate: boolean };
  /** Webhook delivery (libs/webhooks): see docs/webhooks.md. */
  readonly webhooks: WebhooksConfig;
  /**
   * Plans: the requests-per-minute window, how long a replica caches a tenant's limits, and how often it
   * writes the API calls it counted.
   */
  readonly billing: { rateLimitWindowMs: number; planCacheTtlMs: number; usageFlushIntervalMs: number };
  /** Days a session's events (`eventDays`) and an ended webhook delivery (`webhookDeliveryDays`) are kept; 0 keeps them. @default 30, 30 */
  readonly retention: { eventDays: number; webhookDeliveryDays: number };
  /** Most recipients one campaign may hold. @default 100000 */
  readonly campaigns: { maxRecipients: number };
  readonly docsEnabled: boolean;

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}
