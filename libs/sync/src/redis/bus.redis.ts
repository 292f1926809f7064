import { randomUUID } from 'node:crypto';
import { withTimeout } from '../memory/bus.memory';
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
      const { id, reply } = message as { id: string; reply: BusReply };
      const pending = this.pending.get(id);
      if (!pending) return;
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.resolve(reply);
    });
  }

  handle(command: string, handler: CommandHandler): void {
    this.handlers.register(command, handler);
  }

  async request<T = unknown>(instanceId: string, command: string, payload: unknown, timeoutMs: number): Promise<T> {
    const encoded = JSON.parse(this.handlers.encode('request', payload));
    const timeout = () => new BusTimeoutError(instanceId, command, timeoutMs);
    if (instanceId === this.instanceId) return BusHandlers.settle<T>(await withTimeout(this.handlers.invoke(command, encoded), timeoutMs, timeout));
    if (!(await this.cluster.isLive(instanceId))) throw new BusUnknownInstanceError(instanceId);

    const id = randomUUID();
    const reply = new Promise<BusReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(timeout());
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    const request: Request = { id, from: this.instanceId, command, payload: encoded };
    try {
      await this.pubsub.publish(`__bus:request:${instanceId}`, request);
    } catch (error) {
      clearTimeout(this.pending.get(id)?.timer);
      this.pending.delete(id);
      throw error;
    }
    return BusHandlers.settle<T>(await reply);
  }

  /** Rejects requests still waiting for a reply (shutdown). */
  close(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new BusTimeoutError(id, 'shutdown', 0));
    }
    this.pending.clear();
  }

  private async serve(request: Request): Promise<void> {
    const reply = await this.handlers.invoke(request.command, request.payload);
    await this.pubsub.publish(`__bus:reply:${request.from}`, { id: request.id, reply }).catch(() => undefined);
  }
}
