import { isAbsolute, resolve } from 'node:path';
import { AppConfig, LogLevel } from './app-config';
import { generatedInstanceId, VARIABLES, VariableSpec } from './config.variables';

/** A configuration the process must not start with; its message is one sentence for the operator. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function show(spec: VariableSpec, raw: string): string {
  return spec.secret ? `${spec.name} (${raw.length} characters, not shown)` : `${spec.name}=${JSON.stringify(raw)}`;
}

function readAll(env: Env): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const spec of VARIABLES) {
    const given = env[spec.name]?.trim();
    const raw = given ? given : spec.default;
    if (raw === undefined) continue;
    const value = spec.parse(raw);
    if (value === undefined) {
      throw new ConfigError(`${show(spec, raw)} is not accepted: ${spec.name} takes ${spec.accepts}.`);
    }
    values.set(spec.name, value);
  }
  return values;
}

/**
 * Reads and validates every setting. Throws a ConfigError whose message names the variable, the value it
 * got and what it accepts; the caller prints it and exits.
 */
export function loadConfig(env: Env, { cwd = process.cwd(), version = '0.0.0' }: { cwd?: string; version?: string } = {}): AppConfig {
  const v = readAll(env);
  const get = <T>(name: string) => v.get(name) as T;
  const databaseUrl = get<string | undefined>('DATABASE_URL');
  const adminApiKey = get<string | undefined>('ADMIN_API_KEY');
  const backend = get<'memory' | 'redis'>('SYNC_BACKEND');

  if (backend === 'redis' && !databaseUrl) {
    throw new ConfigError(
      'SYNC_BACKEND="redis" needs DATABASE_URL set to a postgres:// URL, because the embedded database in DATA_DIR serves one process only; set DATABASE_URL or use SYNC_BACKEND=memory.',
    );
  }
  if (databaseUrl && !adminApiKey) {
    throw new ConfigError(
      'ADMIN_API_KEY is unset but DATABASE_URL is set: with PostgreSQL every replica needs the same admin key, so set ADMIN_API_KEY to at least 32 characters (for example the output of `openssl rand -hex 32`).',
    );
  }

  if (get<number>('HEARTBEAT_TIMEOUT_MS') <= get<number>('HEARTBEAT_INTERVAL_MS')) {
    throw new ConfigError(
      `HEARTBEAT_TIMEOUT_MS=${get<number>('HEARTBEAT_TIMEOUT_MS')} is not accepted: it must exceed HEARTBEAT_INTERVAL_MS=${get<number>('HEARTBEAT_INTERVAL_MS')}, or live replicas would be taken for dead (3 intervals or more is safe).`,
    );
  }

  const dataDirRaw = get<string>('DATA_DIR');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  return new AppConfig({
    instanceId: get<string | undefined>('INSTANCE_ID') ?? generatedInstanceId(),
    version,
    http: { host: get('HOST'), port: get('PORT'), bodyLimitBytes: get('HTTP_BODY_LIMIT_BYTES'), trustProxy: get('TRUST_PROXY') },
    logLevel: get<LogLevel>('LOG_LEVEL'),
    database: databaseUrl
      ? { kind: 'postgres', url: databaseUrl, poolSize: get('DATABASE_POOL_SIZE'), dataDir }
      : { kind: 'embedded', dataDir },
    auth: { adminApiKey, apiKeyCacheTtlMs: get('API_KEY_CACHE_TTL_MS') },
    metrics: { apiKey: get('METRICS_API_KEY') },
    sync: {
      backend,
      redisUrl: get('REDIS_URL'),
      keyPrefix: get('REDIS_KEY_PREFIX'),
      sentinels: get('REDIS_SENTINELS'),
      sentinelName: get('REDIS_SENTINEL_NAME'),
      commandTimeoutMs: get('SYNC_TIMEOUT_MS'),
      heartbeatIntervalMs: get('HEARTBEAT_INTERVAL_MS'),
      heartbeatTimeoutMs: get('HEARTBEAT_TIMEOUT_MS'),
      busMaxPayloadBytes: get('BUS_MAX_PAYLOAD_BYTES'),
      rendezvousTtlMs: get('RENDEZVOUS_TTL_MS'),
    },
    shutdown: { drainMs: get('SHUTDOWN_DRAIN_MS'), timeoutMs: get('SHUTDOWN_TIMEOUT_MS') },
    registry: { leaseTtlMs: get('LEASE_TTL_MS'), maxSessions: get('MAX_SESSIONS'), rebalancePerMinute: get('REBALANCE_PER_MINUTE') },
    engines: { waWebSocketUrl: get('WA_WEBSOCKET_URL'), keepAliveMs: get('WA_KEEPALIVE_MS') },
    messages: { mediaMaxBytes: get('MEDIA_MAX_BYTES'), mediaUrlAllowPrivate: get('MEDIA_URL_ALLOW_PRIVATE') },
    webhooks: {
      concurrency: get('WEBHOOK_CONCURRENCY'),
      timeoutMs: get('WEBHOOK_TIMEOUT_MS'),
      retryScheduleMs: get('WEBHOOK_RETRY_SCHEDULE'),
      allowPrivate: get('WEBHOOK_ALLOW_PRIVATE'),
      maxPerTenant: get('WEBHOOK_MAX_PER_TENANT'),
      secretOverlapMs: get('WEBHOOK_SECRET_OVERLAP_MS'),
      pollMs: get('WEBHOOK_POLL_MS'),
    },
    billing: { rateLimitWindowMs: get('RATE_LIMIT_WINDOW_MS'), planCacheTtlMs: get('PLAN_CACHE_TTL_MS'), usageFlushIntervalMs: get('USAGE_FLUSH_INTERVAL_MS') },
    campaigns: { maxRecipients: get('CAMPAIGN_MAX_RECIPIENTS') },
    retention: { eventDays: get('EVENT_RETENTION_DAYS'), webhookDeliveryDays: get('WEBHOOK_DELIVERY_RETENTION_DAYS') },
    docsEnabled: get('DOCS_ENABLED'),
  });
}
