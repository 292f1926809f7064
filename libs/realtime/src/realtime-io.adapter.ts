import { Logger, type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import type { AppConfig } from '@wafleet/config';
import { redisConnectionOptions } from '@wafleet/sync';
import { Redis } from 'ioredis';
import type { Server, ServerOptions } from 'socket.io';

const QUIT_TIMEOUT_MS = 2000;

/**
 * Socket.IO for wafleet: WebSocket transport only (long-polling needs sticky routing, which wafleet does
 * not ask of its balancer) and, with SYNC_BACKEND=redis, `@socket.io/redis-adapter` on two connections
 * of its own, so rooms, server-side emits and disconnects reach every replica. The memory backend keeps
 * Socket.IO's in-memory adapter.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly realtimeLogger = new Logger('Realtime');
  private readonly connections: Redis[] = [];

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: Partial<ServerOptions>): Server {
    const server = super.createIOServer(port, { ...options, transports: ['websocket'] } as ServerOptions);
    if (this.config.sync.backend === 'redis') server.adapter(createAdapter(...this.openRedis(), { key: `${this.config.sync.keyPrefix}socket.io` }));
    return server;
  }

  override async dispose(): Promise<void> {
    await Promise.all(
      this.connections.map((connection) =>
        Promise.race([connection.quit().catch(() => undefined), new Promise((done) => setTimeout(done, QUIT_TIMEOUT_MS).unref())]).finally(() =>
          connection.disconnect(),
        ),
      ),
    );
  }

  /**
   * The adapter's publisher and subscriber. The adapter leaves the promises of its Redis calls unhandled,
   * so here they are caught: with Redis away, an emit to other replicas is dropped (their subscribers
   * fill the gap from the event log at the next event) instead of crashing the process. The subscriber
   * queues its first subscriptions until connected and restores them after every reconnect.
   */
  private openRedis(): [Redis, Redis] {
    const { sync, instanceId } = this.config;
    const publisher = new Redis({ ...redisConnectionOptions(sync, `${instanceId}:socket.io-publish`), lazyConnect: false });
    const subscriber = new Redis({
      ...redisConnectionOptions(sync, `${instanceId}:socket.io-subscribe`),
      lazyConnect: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    let failing = false;
    const failed = (error: unknown) => {
      if (!failing) this.realtimeLogger.warn({ err: error }, 'Socket.IO cannot reach Redis: events reach only this replica until it returns');
      failing = true;
    };
    for (const connection of [publisher, subscriber]) {
      connection.on('error', () => undefined); // reported once per outage by `failed`, not per error
      connection.on('ready', () => (failing = false));
      for (const method of ['publish', 'subscribe', 'psubscribe'] as const) {
        const call = connection[method].bind(connection) as (...args: unknown[]) => Promise<unknown>;
        (connection as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => call(...args).catch(failed);
      }
    }
    this.connections.push(publisher, subscriber);
    return [publisher, subscriber];
  }
}
