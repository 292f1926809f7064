import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { boolean, durationList, oneOf, text, urlWithScheme, wholeNumber } from './config.parsers';

/** One environment variable: how it is read, what it accepts, and how it is documented. */
export interface VariableSpec {
  name: string;
  /** The value used when the variable is unset or empty; undefined means "no default". */
  default?: string;
  /** Shown in docs and in `.env.example` instead of a computed default. */
  defaultLabel?: string;
  /** What the variable is for, one sentence. */
  description: string;
  /** What it accepts, phrased to complete "it accepts …". */
  accepts: string;
  /** Secrets are never echoed back in an error. */
  secret?: boolean;
  /** Returns the parsed value, or undefined when the raw value is not accepted. */
  parse(raw: string): unknown;
}

/** Every setting wafleet reads. Order is the order of `.env.example` and the docs table. */
export const VARIABLES: readonly VariableSpec[] = [
  { name: 'PORT', default: '3000', description: 'HTTP port the API listens on.', accepts: 'a whole number from 1 to 65535', parse: wholeNumber(1, 65535) },
  { name: 'HOST', default: '0.0.0.0', description: 'Address the API binds to.', accepts: 'an IP address or host name', parse: text(/^[A-Za-z0-9.:_-]{1,255}$/) },
  {
    name: 'INSTANCE_ID',
    defaultLabel: '<hostname>-<6 random hex digits>',
    description: 'Name of this replica in logs, metrics and the cluster view; unique per running process.',
    accepts: '1 to 64 letters, digits, dots, dashes or underscores',
    parse: text(/^[A-Za-z0-9._-]{1,64}$/),
  },
  { name: 'LOG_LEVEL', default: 'info', description: 'Lowest level written to the JSON log on stdout.', accepts: 'one of fatal, error, warn, info, debug, trace, silent', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  { name: 'DATA_DIR', default: './data', description: 'Folder for the embedded database and the generated admin key; one process at a time.', accepts: 'a folder path', parse: text(/^.{1,4000}$/) },
  {
    name: 'DATABASE_URL',
    defaultLabel: '(unset: embedded database in DATA_DIR)',
    description: 'PostgreSQL to use instead of the embedded database; required for more than one replica.',
    accepts: 'a postgres:// or postgresql:// URL',
    secret: true,
    parse: urlWithScheme('postgres', 'postgresql'),
  },
  { name: 'DATABASE_POOL_SIZE', default: '10', description: 'Connections per replica to PostgreSQL (the embedded database always uses one).', accepts: 'a whole number from 1 to 200', parse: wholeNumber(1, 200) },
  {
    name: 'ADMIN_API_KEY',
    defaultLabel: '(embedded: generated on first boot into DATA_DIR/admin-api-key; PostgreSQL: required)',
    description: 'The admin key: manages tenants and their API keys.',
    accepts: 'at least 32 characters without spaces',
    secret: true,
    parse: text(/^\S{32,512}$/),
  },
  {
    name: 'API_KEY_CACHE_TTL_MS',
    default: '5000',
    description: 'How long a replica trusts a tenant key it has checked; a revoked key stops working within this bound on other replicas (at once on the one that revoked it).',
    accepts: 'a whole number of milliseconds from 0 to 300000',
    parse: wholeNumber(0, 300_000),
  },
  {
    name: 'METRICS_API_KEY',
    defaultLabel: '(unset: only the admin key reads /metrics)',
    description: 'Bearer token that may read /metrics (the admin key may too).',
    accepts: 'at least 16 characters without spaces',
    secret: true,
    parse: text(/^\S{16,512}$/),
  },
  { name: 'SYNC_BACKEND', default: 'memory', description: 'How replicas coordinate: memory for one process, redis for several.', accepts: 'memory or redis', parse: oneOf('memory', 'redis') },
  { name: 'REDIS_URL', default: 'redis://127.0.0.1:6379', description: 'Redis used when SYNC_BACKEND=redis (password and db in the URL).', accepts: 'a redis:// or rediss:// URL', secret: true, parse: urlWithScheme('redis', 'rediss') },
  {
    name: 'TRUST_PROXY',
    default: 'false',
    description: 'Which proxies may set X-Forwarded-For/-Proto: false (none), true (any; only behind a proxy you control), or their addresses.',
    accepts: 'true, false, or a comma-separated list of IP addresses or CIDR ranges',
    parse: (raw: string) => (raw === 'true' ? true : raw === 'false' ? false : /^[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*$/.test(raw) ? raw.split(',') : undefined),
  },
  {
    name: 'REDIS_KEY_PREFIX',
    default: 'wafleet:',
    description: 'Put before every Redis key and channel, so several deployments can share one Redis.',
    accepts: '1 to 64 letters, digits, colons, dots, dashes or underscores',
    parse: text(/^[A-Za-z0-9:._-]{1,64}$/),
  },
  {
    name: 'REDIS_SENTINELS',
    defaultLabel: '(unset: connect to REDIS_URL directly)',
    description: 'Redis Sentinel addresses; when set, the master named REDIS_SENTINEL_NAME is used, with the password and db of REDIS_URL.',
    accepts: 'a comma-separated list of host:port',
    parse: (raw: string) =>
      /^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/.test(raw)
        ? raw.split(',').map((entry) => ({ host: entry.split(':')[0]!, port: Number(entry.split(':')[1]) }))
        : undefined,
  },
  { name: 'REDIS_SENTINEL_NAME', default: 'mymaster', description: 'Name of the master that REDIS_SENTINELS watch.', accepts: '1 to 64 letters, digits, dots, dashes or underscores', parse: text(/^[A-Za-z0-9._-]{1,64}$/) },
  {
    name: 'SYNC_TIMEOUT_MS',
    default: '1000',
    description: 'Longest wait for one Redis command before it fails with sync_unavailable; while Redis is unreachable commands fail at once.',
    accepts: 'a whole number of milliseconds from 50 to 60000',
    parse: wholeNumber(50, 60_000),
  },
  { name: 'HEARTBEAT_INTERVAL_MS', default: '2000', description: 'How often a replica announces itself to the others.', accepts: 'a whole number of milliseconds from 100 to 60000', parse: wholeNumber(100, 60_000) },
  {
    name: 'HEARTBEAT_TIMEOUT_MS',
    default: '10000',
    description: 'A replica not heard from for this long is taken for dead; must exceed HEARTBEAT_INTERVAL_MS.',
    accepts: 'a whole number of milliseconds from 300 to 600000',
    parse: wholeNumber(300, 600_000),
  },
  { name: 'BUS_MAX_PAYLOAD_BYTES', default: '1048576', description: 'Largest request or reply one replica sends another.', accepts: 'a whole number of bytes from 1024 to 67108864', parse: wholeNumber(1024, 67_108_864) },
  {
    name: 'RENDEZVOUS_TTL_MS',
    default: '30000',
    description: 'How long a signal that came before anyone waited for it is kept to resolve a later wait.',
    accepts: 'a whole number of milliseconds from 100 to 3600000',
    parse: wholeNumber(100, 3_600_000),
  },
  { name: 'HTTP_BODY_LIMIT_BYTES', default: '1048576', description: 'Largest JSON request body accepted; larger ones get 413.', accepts: 'a whole number of bytes from 1024 to 104857600', parse: wholeNumber(1024, 104_857_600) },
  {
    name: 'SHUTDOWN_DRAIN_MS',
    default: '2000',
    description: 'After SIGTERM, how long /health/ready answers 503 while requests are still served, so a load balancer stops sending new ones (SIGINT skips it).',
    accepts: 'a whole number of milliseconds from 0 to 600000',
    parse: wholeNumber(0, 600_000),
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    default: '30000',
    description: 'Upper bound from a stop signal to exit; past it the process exits with code 1 even if work is stuck.',
    accepts: 'a whole number of milliseconds from 1000 to 600000',
    parse: wholeNumber(1000, 600_000),
  },
  {
    name: 'LEASE_TTL_MS',
    default: '10000',
    description: "How long a replica's hold on a session lasts without renewal: a dead replica's sessions move to a survivor after at most this long (renewed every third of it; a replica that cannot renew stops its sessions before its leases run out).",
    accepts: 'a whole number of milliseconds from 1000 to 600000',
    parse: wholeNumber(1000, 600_000),
  },
  {
    name: 'MAX_SESSIONS',
    default: '0',
    description: 'Most sessions this replica runs (0: no limit); it also weighs how many sessions placement gives it beside the others. A full replica claims nothing.',
    accepts: 'a whole number from 0 to 100000',
    parse: wholeNumber(0, 100_000),
  },
  {
    name: 'REBALANCE_PER_MINUTE',
    default: '30',
    description: 'Most sessions this replica hands over per minute so that a replica that joins gets its share (0: never hand over).',
    accepts: 'a whole number from 0 to 10000',
    parse: wholeNumber(0, 10_000),
  },
  {
    name: 'WA_WEBSOCKET_URL',
    defaultLabel: "(WhatsApp's own servers)",
    description: 'The WhatsApp Web WebSocket sessions connect to; point it at wa-sim (ws://127.0.0.1:<WA_SIM_PORT>/ws/chat) to try wafleet without a phone.',
    accepts: 'a ws:// or wss:// URL',
    parse: urlWithScheme('ws', 'wss'),
  },
  {
    name: 'WA_KEEPALIVE_MS',
    default: '30000',
    description:
      "How often each session pings WhatsApp; a connection that hears nothing for this long plus 5 s is treated as lost and reconnects. Shorter finds a dead network sooner at the cost of more traffic.",
    accepts: 'a whole number of milliseconds from 200 to 600000',
    parse: wholeNumber(200, 600_000),
  },
  {
    name: 'EVENT_RETENTION_DAYS',
    default: '30',
    description:
      "How many days each session's events stay in its log, for `GET /sessions/:id/events` and Socket.IO replays; older ones are deleted hourly. 0 keeps them until the session is deleted.",
    accepts: 'a whole number of days from 0 to 36500',
    parse: wholeNumber(0, 36_500),
  },
  {
    name: 'MEDIA_MAX_BYTES',
    default: '16777216',
    description:
      'Largest media file a message may carry, fetched from a URL or given as base64 (base64 in the body is also bounded by HTTP_BODY_LIMIT_BYTES; use a URL for large files). Larger ones get 413.',
    accepts: 'a whole number of bytes from 1024 to 104857600',
    parse: wholeNumber(1024, 104_857_600),
  },
  {
    name: 'MEDIA_URL_ALLOW_PRIVATE',
    default: 'false',
    description:
      'Let media URLs point at loopback, private, link-local or cloud-metadata addresses. Off, such a URL gets 400, so the API cannot be used to reach inside your network.',
    accepts: 'true or false',
    parse: boolean,
  },
  {
    name: 'WEBHOOK_CONCURRENCY',
    default: '32',
    description: 'Most webhook requests this replica has in flight at once.',
    accepts: 'a whole number from 1 to 1000',
    parse: wholeNumber(1, 1000),
  },
  {
    name: 'WEBHOOK_TIMEOUT_MS',
    default: '15000',
    description: 'Longest wait for a webhook endpoint to answer (connection, request and response); past it the attempt failed and is retried.',
    accepts: 'a whole number of milliseconds from 100 to 120000',
    parse: wholeNumber(100, 120_000),
  },
  {
    name: 'WEBHOOK_RETRY_SCHEDULE',
    default: '5s,5m,30m,2h,5h,10h,14h,20h,24h',
    description:
      'Waits between webhook attempts after a failure (each ±10 % jitter); after the last one fails the delivery is dead-lettered. The default is the Standard Webhooks schedule.',
    accepts: 'a comma-separated list of 1 to 30 durations such as 200ms, 5s, 5m or 2h (bare numbers are milliseconds), each from 10ms to 48h',
    parse: durationList(10, 48 * 3_600_000, 30),
  },
  {
    name: 'WEBHOOK_ALLOW_PRIVATE',
    default: 'false',
    description:
      'Let webhook URLs point at loopback, private, link-local or cloud-metadata addresses. Off, such a URL gets 400 and a delivery whose host has come to resolve to one fails, so webhooks cannot be used to reach inside your network.',
    accepts: 'true or false',
    parse: boolean,
  },
  { name: 'WEBHOOK_MAX_PER_TENANT', default: '25', description: 'Most webhook subscriptions one tenant may have.', accepts: 'a whole number from 1 to 10000', parse: wholeNumber(1, 10_000) },
  {
    name: 'WEBHOOK_SECRET_OVERLAP_MS',
    default: '86400000',
    description: "After a webhook's secret is rotated, how long the previous secret still signs too (both signatures are sent), so receivers can switch without losing a delivery.",
    accepts: 'a whole number of milliseconds from 0 to 2592000000',
    parse: wholeNumber(0, 2_592_000_000),
  },
  {
    name: 'WEBHOOK_POLL_MS',
    default: '1000',
    description: 'How often an idle replica looks for due webhook deliveries; new ones wake it at once, so this bounds retries and missed wake-ups.',
    accepts: 'a whole number of milliseconds from 10 to 60000',
    parse: wholeNumber(10, 60_000),
  },
  {
    name: 'WEBHOOK_DELIVERY_RETENTION_DAYS',
    default: '30',
    description:
      'How many days a webhook delivery that ended (delivered, dead or disabled) is kept, counted from when it was enqueued, to be listed and replayed; older ones are deleted hourly. Deliveries still pending are never deleted. 0 keeps them all.',
    accepts: 'a whole number of days from 0 to 36500',
    parse: wholeNumber(0, 36_500),
  },
  {
    name: 'RATE_LIMIT_WINDOW_MS',
    default: '60000',
    description:
      "The window of a plan's requests-per-minute limit: a tenant gets its plan's number of requests per window, counted once across all replicas. Shorten it only for tests.",
    accepts: 'a whole number of milliseconds from 100 to 3600000',
    parse: wholeNumber(100, 3_600_000),
  },
  {
    name: 'PLAN_CACHE_TTL_MS',
    default: '1000',
    description: "How long a replica uses a tenant's plan limits it has read; a plan change takes effect at once on the replica that made it and within this bound on the others.",
    accepts: 'a whole number of milliseconds from 0 to 60000',
    parse: wholeNumber(0, 60_000),
  },
  {
    name: 'USAGE_FLUSH_INTERVAL_MS',
    default: '1000',
    description:
      'How often a replica adds the API calls it counted to the daily usage table; a replica killed without a chance to shut down loses at most this long of call counts.',
    accepts: 'a whole number of milliseconds from 100 to 60000',
    parse: wholeNumber(100, 60_000),
  },
  {
    name: 'CAMPAIGN_MAX_RECIPIENTS',
    default: '100000',
    description: 'Most recipients one campaign may hold; a request that would go past it gets 413 (the CSV or JSON body is also bounded by HTTP_BODY_LIMIT_BYTES).',
    accepts: 'a whole number from 1 to 10000000',
    parse: wholeNumber(1, 10_000_000),
  },
  { name: 'DOCS_ENABLED', default: 'true', description: 'Serve Swagger UI at /docs and the OpenAPI document at /docs/openapi.json.', accepts: 'true or false', parse: boolean },
];

export const generatedInstanceId = (): string =>
  `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50)}-${randomBytes(3).toString('hex')}`;

