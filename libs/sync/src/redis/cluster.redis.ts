import { Logger } from '@nestjs/common';
import { Cluster, InstanceInfo } from '../sync.ports';
import { RedisConnections } from './connections.redis';
import { SCRIPTS } from './scripts.redis';

export class RedisCluster extends Cluster {
  private readonly logger = new Logger('Cluster');
  private readonly reports: Record<string, unknown> = {};
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;
  /** Ids seen live at the last heartbeat: lets the bus refuse unknown instances without a round trip. */
  private liveIds = new Set<string>();

  constructor(
    private readonly redis: RedisConnections,
    readonly instanceId: string,
    private readonly version: string,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /** A changed value goes out in a heartbeat at once: peers must not place sessions on a draining replica. */
  report(key: string, value: unknown): void {
    if (Object.is(this.reports[key], value)) return;
    this.reports[key] = value;
    if (this.timer) void this.beat();
  }

  async instances(): Promise<InstanceInfo[]> {
    const flat = (await this.redis.run('cluster', 'instances', () =>
      this.redis.script(SCRIPTS.LIVE, [this.redis.key('cluster:members')], [this.timeoutMs, this.redis.key('cluster:instance:')]),
    )) as string[];
    const instances: InstanceInfo[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const info = JSON.parse(flat[i + 2]!) as Omit<InstanceInfo, 'heartbeatAt'>;
      instances.push({ ...info, id: flat[i]!, heartbeatAt: new Date(Number(flat[i + 1])).toISOString() });
    }
    this.liveIds = new Set(instances.map((instance) => instance.id));
    return instances.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Whether an instance is live, asking Redis only when the last heartbeat's view does not know it. */
  async isLive(instanceId: string): Promise<boolean> {
    if (this.liveIds.has(instanceId)) return true;
    return (await this.instances()).some((instance) => instance.id === instanceId);
  }

  /** Leaves at once on a clean stop, so others need not wait HEARTBEAT_TIMEOUT_MS. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis
      .run('cluster', 'leave', () =>
        this.redis.command.multi().zrem(this.redis.key('cluster:members'), this.instanceId).del(this.redis.key(`cluster:instance:${this.instanceId}`)).exec(),
      )
      .catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const info = { id: this.instanceId, version: this.version, startedAt: this.startedAt, reports: this.reports };
    try {
      await this.redis.run('cluster', 'heartbeat', () =>
        this.redis.script(SCRIPTS.BEAT, [this.redis.key('cluster:members'), this.redis.key(`cluster:instance:${this.instanceId}`)], [this.instanceId, JSON.stringify(info), this.timeoutMs]),
      );
      await this.instances();
    } catch (error) {
      this.logger.debug({ err: error }, 'Heartbeat failed');
    }
  }
}
