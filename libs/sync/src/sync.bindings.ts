import { BeforeApplicationShutdown, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { MemoryBus } from './memory/bus.memory';
import { MemoryCache } from './memory/cache.memory';
import { MemoryCluster } from './memory/cluster.memory';
import { MemoryCounters } from './memory/counters.memory';
import { MemoryLock } from './memory/lock.memory';
import { MemoryPubSub } from './memory/pubsub.memory';
import { MemoryRendezvous } from './memory/rendezvous.memory';
import { RedisBus } from './redis/bus.redis';
import { RedisCache } from './redis/cache.redis';
import { RedisCluster } from './redis/cluster.redis';
import { RedisConnections } from './redis/connections.redis';
import { RedisCounters } from './redis/counters.redis';
import { RedisLock } from './redis/lock.redis';
import { RedisPubSub } from './redis/pubsub.redis';
import { RedisRendezvous } from './redis/rendezvous.redis';
import { BusHandlers } from './shared/bus-handlers';
import { SyncMetrics } from './sync.metrics';
import type { SyncModuleOptions } from './sync.options';
import { Bus, Cache, Cluster, Counters, Lock, PubSub, Rendezvous } from './sync.ports';

/** Whether coordination works right now, for readiness. */
export interface SyncStatus {
  backend: 'memory' | 'redis';
  up: boolean;
}

/**
 * One set of primitives for one instance, bound to memory or Redis. Heartbeats and subscriptions start
 * on bootstrap; on shutdown the instance leaves the cluster and its connections close.
 */
export class SyncBindings implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private constructor(
    readonly lock: Lock,
    readonly pubsub: PubSub,
    readonly counters: Counters,
    readonly cache: Cache,
    readonly rendezvous: Rendezvous,
    readonly bus: Bus,
    readonly cluster: Cluster,
    private readonly lifecycle: { start(): Promise<void>; stop(): Promise<void>; status(): SyncStatus },
  ) {}

  static async create(options: SyncModuleOptions, registry: Registry): Promise<SyncBindings> {
    const metrics = new SyncMetrics(registry);
    const handlers = new BusHandlers(options.busMaxPayloadBytes);
    if (options.backend === 'memory') {
      metrics.degraded.set(0);
      const rendezvous = new MemoryRendezvous(options.rendezvousTtlMs);
      return new SyncBindings(
        new MemoryLock(),
        new MemoryPubSub(),
        new MemoryCounters(),
        new MemoryCache(),
        rendezvous,
        new MemoryBus(options.instanceId, handlers),
        new MemoryCluster(options.instanceId, options.version),
        { start: async () => undefined, stop: async () => rendezvous.close(), status: () => ({ backend: 'memory', up: true }) },
      );
    }
    const redis = await RedisConnections.open(options, metrics);
    const pubsub = new RedisPubSub(redis, options.instanceId);
    const cluster = new RedisCluster(redis, options.instanceId, options.version, options.heartbeatIntervalMs, options.heartbeatTimeoutMs);
    const rendezvous = new RedisRendezvous(redis, pubsub, options.rendezvousTtlMs);
    const bus = new RedisBus(options.instanceId, handlers, pubsub, cluster);
    return new SyncBindings(new RedisLock(redis), pubsub, new RedisCounters(redis), new RedisCache(redis), rendezvous, bus, cluster, {
      start: async () => {
        await Promise.all([rendezvous.start(), bus.start()]);
        await cluster.start();
        redis.startWatchdog(options.heartbeatIntervalMs);
      },
      stop: async () => {
        await cluster.stop();
        bus.close();
        rendezvous.close();
        await redis.close();
      },
      status: () => ({ backend: 'redis', up: redis.up }),
    });
  }

  status(): SyncStatus {
    return this.lifecycle.status();
  }

  /** Subscribes the internal channels and sends the first heartbeat. */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  onApplicationBootstrap(): Promise<void> {
    return this.start();
  }

  /** Peers see a stopping instance as draining from its next heartbeat, before it leaves. */
  beforeApplicationShutdown(): void {
    this.cluster.report('draining', true);
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
