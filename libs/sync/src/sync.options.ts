/** Options of SyncModule.forRoot / forRootAsync; the app passes AppConfig's values. */
export interface SyncModuleOptions {
  /** `memory` for one process, `redis` for several. @default 'memory' */
  backend: 'memory' | 'redis';
  /** This process's id in the cluster. */
  instanceId: string;
  /** This process's version, shown in the cluster view. */
  version: string;
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
