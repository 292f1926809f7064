import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Redis, RedisOptions, ReplyError } from 'ioredis';
import { SyncUnavailableError } from '../sync.errors';
import { SyncMetrics } from '../sync.metrics';
import type { SyncConfig } from '@wafleet/config';
import type { SyncModuleOptions } from '../sync.options';

const RECONNECT_CAP_MS = 2000;
/** Error replies that mean "not now" rather than "wrong call". */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|NOAUTH|WRONGPASS)/;
const QUIT_TIMEOUT_MS = 2000;

/**
 * The three Redis connections — commands, publishing, subscribing — set to fail fast: no offline
 * queue, no retries per request, a command timeout; they reconnect by themselves with capped backoff.
 */
export class RedisConnections {
  private readonly logger = new Logger('Sync');
  private readonly whenSubscriberReady: Array<() => void> = [];
  private wasUp = false;
  private closing = false;
  /** Set when a connection did not answer the last PING: a hung or partitioned Redis keeps sockets open. */
  private unresponsive = false;
  private watchdog?: NodeJS.Timeout;
  private readonly scripts = new Map<string, string>();

  private constructor(
    readonly command: Redis,
    readonly publisher: Redis,
    readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly metrics: SyncMetrics,
  ) {
    for (const connection of this.all()) {
      connection.on('ready', () => this.changed(this.up));
      for (const event of ['close', 'reconnecting', 'end']) connection.on(event, () => this.changed(false));
      connection.on('error', () => undefined); // reported through the state changes above, not per error
    }
    this.subscriber.on('ready', () => this.whenSubscriberReady.forEach((run) => run()));
  }

  /** Connects all three; an unreachable Redis leaves them reconnecting in the background. */
  static async open(options: SyncModuleOptions, metrics: SyncMetrics): Promise<RedisConnections> {
    const make = (role: string) => new Redis(redisConnectionOptions(options, `${options.instanceId}:${role}`));
    const connections = new RedisConnections(make('command'), make('publish'), make('subscribe'), options.keyPrefix, metrics);
    metrics.degraded.set(1);
    const results = await Promise.allSettled(connections.all().map((connection) => connection.connect()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) connections.logger.warn({ err: (failed as PromiseRejectedResult).reason }, 'Redis is unreachable; running degraded until it answers');
    return connections;
  }

  get up(): boolean {
    return !this.unresponsive && this.all().every((connection) => connection.status === 'ready');
  }

  /**
   * PINGs the three connections every `intervalMs`. One that does not answer within the command timeout
   * is dropped and reconnected (its subscriptions restored on 'ready'), and coordination reads as degraded
   * until all answer again.
   */
  startWatchdog(intervalMs: number): void {
    this.watchdog = setInterval(() => void this.probe(), intervalMs);
    this.watchdog.unref();
  }

  private async probe(): Promise<void> {
    const ready = this.all().filter((connection) => connection.status === 'ready');
    const results = await Promise.allSettled(ready.map((connection) => connection.ping()));
    const silent = ready.filter((_, i) => results[i]!.status === 'rejected');
    for (const connection of silent) connection.disconnect(true);
    this.unresponsive = silent.length > 0;
    this.changed(this.up);
  }

  private all(): Redis[] {
    return [this.command, this.publisher, this.subscriber];
  }

  /** Counts something that went wrong outside a call, such as a message that could not be read. */
  countFailure(primitive: string, op: string): void {
    this.metrics.failures.inc({ primitive, op });
  }

  /** A key or channel name with REDIS_KEY_PREFIX. */
  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  onSubscriberReady(run: () => void): void {
    this.whenSubscriberReady.push(run);
  }

  /**
   * Runs one operation with metrics. A connection failure or timeout becomes SyncUnavailableError; an
   * error reply is the caller's bug and is thrown as is, unless Redis says it cannot serve right now.
   */
  async run<T>(primitive: string, op: string, work: () => Promise<T>): Promise<T> {
    const labels = { primitive, op };
    const stop = this.metrics.duration.startTimer(labels);
    try {
      return await work();
    } catch (error) {
      this.metrics.failures.inc(labels);
      // An error reply is a bug in the call, not an outage — unless Redis says it cannot serve right now.
      if (error instanceof ReplyError && !UNAVAILABLE_REPLY.test((error as Error).message)) throw error;
      throw new SyncUnavailableError(`${primitive}.${op}`, error);
    } finally {
      stop();
    }
  }

  /**
   * Runs a Lua script by its SHA1 (EVALSHA), sending the text only the first time Redis has not seen it
   * (after a restart, NOSCRIPT): most calls then carry a few bytes instead of the whole script.
   */
  async script(lua: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    let sha = this.scripts.get(lua);
    if (!sha) this.scripts.set(lua, (sha = createHash('sha1').update(lua).digest('hex')));
    try {
      return await this.command.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.command.eval(lua, keys.length, ...keys, ...args);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.all(
      [this.command, this.publisher, this.subscriber].map((connection) =>
        Promise.race([connection.quit().catch(() => undefined), new Promise((done) => setTimeout(done, QUIT_TIMEOUT_MS).unref())]).finally(() =>
          connection.disconnect(),
        ),
      ),
    );
  }

  private changed(up: boolean): void {
    if (this.closing) return;
    this.metrics.degraded.set(up ? 0 : 1);
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (up) this.logger.log('Redis is reachable');
    else this.logger.warn('Redis is unreachable: sync calls fail fast with sync_unavailable until it returns');
  }
}

/**
 * How wafleet connects to Redis (URL, credentials, Sentinel, timeouts, capped reconnect backoff), failing
 * fast: no offline queue, no retries, no resubscribing. Other Redis clients (the Socket.IO adapter)
 * start from these and change what they must.
 */
export function redisConnectionOptions(options: SyncConfig, name: string): RedisOptions {
  const url = new URL(options.redisUrl);
  const common: RedisOptions = {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs,
    keepAlive: 5000,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_CAP_MS),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
  if (options.sentinels?.length) return { ...common, sentinels: options.sentinels, name: options.sentinelName };
  return { ...common, host: url.hostname, port: Number(url.port || 6379) };
}
