import { Cluster, InstanceInfo } from '../sync.ports';

/** One process: the cluster is this instance. */
export class MemoryCluster extends Cluster {
  private readonly reports: Record<string, unknown> = {};
  private readonly startedAt = new Date().toISOString();

  constructor(
    readonly instanceId: string,
    private readonly version: string,
  ) {
    super();
  }

  report(key: string, value: unknown): void {
    this.reports[key] = value;
  }

  async instances(): Promise<InstanceInfo[]> {
    const info = { id: this.instanceId, version: this.version, startedAt: this.startedAt, heartbeatAt: new Date().toISOString() };
    return [{ ...info, reports: JSON.parse(JSON.stringify(this.reports)) }];
  }
}
