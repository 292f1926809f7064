import { ConfigError, loadConfig } from './config.loader';
import { VARIABLES } from './config.variables';

const PG = 'postgres://app@db:5432/wafleet';
const ADMIN = 'a'.repeat(32);

const failure = (env: Record<string, string>) => {
  try {
    loadConfig(env, { cwd: '/srv' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('loadConfig', () => {
  it('runs on the embedded database with defaults when nothing is set', () => {
    const config = loadConfig({}, { cwd: '/srv' });
    expect(config.database).toEqual({ kind: 'embedded', dataDir: '/srv/data' });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 3000, bodyLimitBytes: 1_048_576, trustProxy: false });
    expect(config.sync.backend).toBe('memory');
    expect(config.auth).toEqual({ adminApiKey: undefined, apiKeyCacheTtlMs: 5000 });
    expect(config.shutdown).toEqual({ drainMs: 2000, timeoutMs: 30_000 });
    expect(config.billing).toEqual({ rateLimitWindowMs: 60_000, planCacheTtlMs: 1000, usageFlushIntervalMs: 1000 });
    expect(config.instanceId).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
  });

  it('switches to PostgreSQL and redis with their variables', () => {
    const config = loadConfig({ DATABASE_URL: PG, ADMIN_API_KEY: ADMIN, SYNC_BACKEND: 'redis', DATABASE_POOL_SIZE: '25', INSTANCE_ID: 'api-2' });
    expect(config.database).toMatchObject({ kind: 'postgres', url: PG, poolSize: 25 });
    expect(config.sync).toMatchObject({ backend: 'redis', redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'wafleet:', sentinels: undefined });
    expect(config.instanceId).toBe('api-2');
  });

  it('reads Sentinel addresses and refuses a heartbeat timeout that does not exceed the interval', () => {
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,10.0.0.2:26380' }).sync.sentinels).toEqual([
      { host: 's1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
    ]);
    expect(failure({ REDIS_SENTINELS: 's1' })).toContain('REDIS_SENTINELS="s1" is not accepted');
    expect(failure({ HEARTBEAT_INTERVAL_MS: '5000', HEARTBEAT_TIMEOUT_MS: '5000' })).toBe(
      'HEARTBEAT_TIMEOUT_MS=5000 is not accepted: it must exceed HEARTBEAT_INTERVAL_MS=5000, or live replicas would be taken for dead (3 intervals or more is safe).',
    );
  });

  it('reads TRUST_PROXY as a flag or a list of addresses', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT="eighty" is not accepted: PORT takes a whole number from 1 to 65535.'],
    [{ PORT: '70000' }, 'PORT="70000" is not accepted: PORT takes a whole number from 1 to 65535.'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud" is not accepted: LOG_LEVEL takes one of fatal, error, warn, info, debug, trace, silent.'],
    [{ SYNC_BACKEND: 'etcd' }, 'SYNC_BACKEND="etcd" is not accepted: SYNC_BACKEND takes memory or redis.'],
    [{ DATABASE_POOL_SIZE: '0', DATABASE_URL: PG, ADMIN_API_KEY: ADMIN }, 'DATABASE_POOL_SIZE="0" is not accepted: DATABASE_POOL_SIZE takes a whole number from 1 to 200.'],
    [{ INSTANCE_ID: 'has space' }, 'INSTANCE_ID="has space" is not accepted: INSTANCE_ID takes 1 to 64 letters, digits, dots, dashes or underscores.'],
    [{ TRUST_PROXY: 'nginx' }, 'TRUST_PROXY="nginx" is not accepted: TRUST_PROXY takes true, false, or a comma-separated list of IP addresses or CIDR ranges.'],
    [{ DOCS_ENABLED: 'yes' }, 'DOCS_ENABLED="yes" is not accepted: DOCS_ENABLED takes true or false.'],
    [{ SHUTDOWN_TIMEOUT_MS: '10' }, 'SHUTDOWN_TIMEOUT_MS="10" is not accepted: SHUTDOWN_TIMEOUT_MS takes a whole number of milliseconds from 1000 to 600000.'],
  ])('refuses %j with one sentence naming the variable, the value and what it accepts', (env, sentence) => {
    expect(failure(env)).toBe(sentence);
  });

  it('names a secret variable without echoing its value', () => {
    expect(failure({ DATABASE_URL: 'mysql://root:hunter2@db/app' })).toBe(
      'DATABASE_URL (27 characters, not shown) is not accepted: DATABASE_URL takes a postgres:// or postgresql:// URL.',
    );
    const short = failure({ ADMIN_API_KEY: 'hunter2' });
    expect(short).toContain('ADMIN_API_KEY (7 characters, not shown)');
    expect(short).not.toContain('hunter2');
    expect(failure({ REDIS_URL: 'http://cache' })).toContain('REDIS_URL (12 characters, not shown) is not accepted');
  });

  it('refuses SYNC_BACKEND=redis on the embedded database', () => {
    expect(failure({ SYNC_BACKEND: 'redis' })).toMatch(/^SYNC_BACKEND="redis" needs DATABASE_URL set to a postgres:\/\/ URL, .+; set DATABASE_URL or use SYNC_BACKEND=memory\.$/);
  });

  it('requires ADMIN_API_KEY with PostgreSQL', () => {
    expect(failure({ DATABASE_URL: PG })).toMatch(/^ADMIN_API_KEY is unset but DATABASE_URL is set: .+\.$/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).http.port).toBe(3000);
  });

  it('has a default or a documented label for every variable, and every default passes its own check', () => {
    for (const spec of VARIABLES) {
      expect({ name: spec.name, documented: spec.default !== undefined || spec.defaultLabel !== undefined }).toEqual({ name: spec.name, documented: true });
      if (spec.default !== undefined) expect({ name: spec.name, value: spec.parse(spec.default) }).not.toEqual({ name: spec.name, value: undefined });
    }
  });
  it('reads the webhook settings, the retry schedule as a list of durations', () => {
    expect(loadConfig({}, { cwd: '/srv' }).webhooks).toEqual({
      concurrency: 32,
      timeoutMs: 15_000,
      retryScheduleMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      allowPrivate: false,
      maxPerTenant: 25,
      secretOverlapMs: 86_400_000,
      pollMs: 1000,
    });
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '200ms, 1s,2m,1h,250' }, { cwd: '/srv' }).webhooks.retryScheduleMs).toEqual([200, 1000, 120_000, 3_600_000, 250]);
    expect(failure({ WEBHOOK_RETRY_SCHEDULE: '5s,soon' })).toContain('WEBHOOK_RETRY_SCHEDULE="5s,soon" is not accepted');
    expect(failure({ WEBHOOK_RETRY_SCHEDULE: '49h' })).toContain('each from 10ms to 48h');
  });
  it('reads the retention of events and ended webhook deliveries in days, 0 keeping them', () => {
    expect(loadConfig({}, { cwd: '/srv' }).retention).toEqual({ eventDays: 30, webhookDeliveryDays: 30 });
    expect(loadConfig({ EVENT_RETENTION_DAYS: '0', WEBHOOK_DELIVERY_RETENTION_DAYS: '7' }, { cwd: '/srv' }).retention).toEqual({ eventDays: 0, webhookDeliveryDays: 7 });
    expect(failure({ EVENT_RETENTION_DAYS: '-1' })).toContain('EVENT_RETENTION_DAYS="-1" is not accepted');
    expect(failure({ WEBHOOK_DELIVERY_RETENTION_DAYS: '2w' })).toContain('a whole number of days from 0 to 36500');
  });
});
