import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Redis, RedisOptions } from 'ioredis';
import { SyncUnavailableError } from '../sync.errors';
import { SyncMetrics } from '../sync.metrics';
import type { SyncModuleOptions } from '../sync.options';

const RECONNECT_CAP_MS = 2000;
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
  private readonly scripts = new Map<string, string>();

  private constructor(
    readonly command: Redis,
    readonly publisher: Redis,
    readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly metrics: SyncMetrics,
  ) {
    this.command.on('ready', () => this.changed(true));
    for (const event of ['close', 'reconnecting', 'end']) this.command.on(event, () => this.changed(false));
    this.subscriber.on('ready', () => this.whenSubscriberReady.forEach((run) => run()));
    for (const connection of [command, publisher, subscriber]) connection.on('error', () => undefined); // state is tracked above
  }

  /** Connects all three; an unreachable Redis leaves them reconnecting in the background. */
  static async open(options: SyncModuleOptions, metrics: SyncMetrics): Promise<RedisConnections> {
    const make = (role: string) => new Redis(connectionOptions(options, `${options.instanceId}:${role}`));
    const connections = new RedisConnections(make('command'), make('publish'), make('subscribe'), options.keyPrefix, metrics);
    metrics.degraded.set(1);
    const results = await Promise.allSettled([connections.command, connections.publisher, connections.subscriber].map((c) => c.connect()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) connections.logger.warn({ err: (failed as PromiseRejectedResult).reason }, 'Redis is unreachable; running degraded until it answers');
    return connections;
  }

  get up(): boolean {
    return this.command.status === 'ready';
  }

  /** A key or channel name with REDIS_KEY_PREFIX. */
  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  onSubscriberReady(run: () => void): void {
    this.whenSubscriberReady.push(run);
  }

  /** Runs one operation with metrics; any Redis failure becomes SyncUnavailableError. */
  async run<T>(primitive: string, op: string, work: () => Promise<T>): Promise<T> {
    const labels = { primitive, op };
    const stop = this.metrics.duration.startTimer(labels);
    try {
      return await work();
    } catch (error) {
      this.metrics.failures.inc(labels);
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

function connectionOptions(options: SyncModuleOptions, name: string): RedisOptions {
  const url = new URL(options.redisUrl);
  const common: RedisOptions = {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    commandTimeout: options.commandTimeoutMs,
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
