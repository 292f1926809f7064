import { randomUUID } from 'node:crypto';
import { withTimeout } from '../shared/with-timeout';
import { BusHandlers, BusReply } from '../shared/bus-handlers';
import { BusTimeoutError, BusUnknownInstanceError } from '../sync.errors';
import { Bus, CommandHandler } from '../sync.ports';
import { RedisCluster } from './cluster.redis';
import { RedisPubSub } from './pubsub.redis';

interface Request {
  id: string;
  from: string;
  command: string;
  payload: unknown;
}

interface Pending {
  resolve: (reply: BusReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Requests go to the target's own channel and replies to the caller's, matched by a correlation id. */
export class RedisBus extends Bus {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly instanceId: string,
    private readonly handlers: BusHandlers,
    private readonly pubsub: RedisPubSub,
    private readonly cluster: RedisCluster,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.pubsub.subscribe(`__bus:request:${this.instanceId}`, (message) => void this.serve(message as Request));
    await this.pubsub.subscribe(`__bus:reply:${this.instanceId}`, (message) => {
      const { id, reply } = (message ?? {}) as { id?: string; reply?: BusReply };
      const pending = typeof id === 'string' && reply ? this.pending.get(id) : undefined;
      if (!pending) return;
      clearTimeout(pending.timer);
      this.pending.delete(id!);
      pending.resolve(reply!);
    });
  }

  handle(command: string, handler: CommandHandler): void {
    this.handlers.register(command, handler);
  }

  async request<T = unknown>(instanceId: string, command: string, payload: unknown, timeoutMs: number): Promise<T> {
    const json = this.handlers.encode('request', payload);
    const timeout = () => new BusTimeoutError(instanceId, command, timeoutMs);
    if (instanceId === this.instanceId) return BusHandlers.settle<T>(await withTimeout(this.handlers.invoke(command, JSON.parse(json)), timeoutMs, timeout));
    if (!(await this.cluster.isLive(instanceId))) throw new BusUnknownInstanceError(instanceId);

    const id = randomUUID();
    const reply = new Promise<BusReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(timeout());
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    const request = `{"id":"${id}","from":${JSON.stringify(this.instanceId)},"command":${JSON.stringify(command)},"payload":${json}}`;
    let receivers: number;
    try {
      receivers = await this.pubsub.sendJson(`__bus:request:${instanceId}`, request);
    } catch (error) {
      this.forget(id);
      throw error;
    }
    // Nobody subscribed: the instance died or lost Redis since its last heartbeat; no point waiting.
    if (receivers === 0) {
      this.forget(id);
      throw new BusUnknownInstanceError(instanceId);
    }
    return BusHandlers.settle<T>(await reply);
  }

  private forget(id: string): void {
    clearTimeout(this.pending.get(id)?.timer);
    this.pending.delete(id);
  }

  /** Rejects requests still waiting for a reply (shutdown). */
  close(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new BusTimeoutError('(this instance is stopping)', id, 0));
    }
    this.pending.clear();
  }

  private async serve(request: Request): Promise<void> {
    const { id, from, command } = (request ?? {}) as Partial<Request>;
    if (typeof id !== 'string' || typeof from !== 'string' || typeof command !== 'string') return;
    const reply = await this.handlers.invoke(request.command, request.payload);
    await this.pubsub.publish(`__bus:reply:${request.from}`, { id: request.id, reply }).catch(() => undefined);
  }
}
