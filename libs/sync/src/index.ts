export { SyncModule } from './sync.module';
export { SyncBindings } from './sync.bindings';
export type { SyncStatus } from './sync.bindings';
export type { SyncModuleOptions } from './sync.options';
export { Bus, Cache, Cluster, Counters, Lock, PubSub, Rendezvous } from './sync.ports';
export type { CommandHandler, InstanceInfo, MessageHandler, TakeResult } from './sync.ports';
export { BusPayloadTooLargeError, BusRemoteError, BusTimeoutError, BusUnknownInstanceError, SyncUnavailableError } from './sync.errors';
export { SCRIPTS as REDIS_SCRIPTS } from './redis/scripts.redis';
export { redisConnectionOptions } from './redis/connections.redis';
