import { BusHandlers } from '../shared/bus-handlers';
import { withTimeout } from '../shared/with-timeout';
import { BusTimeoutError, BusUnknownInstanceError } from '../sync.errors';
import { Bus, CommandHandler } from '../sync.ports';

/** One process: the only instance a request can reach is this one. */
export class MemoryBus extends Bus {
  constructor(
    private readonly instanceId: string,
    private readonly handlers: BusHandlers,
  ) {
    super();
  }

  handle(command: string, handler: CommandHandler): void {
    this.handlers.register(command, handler);
  }

  async request<T = unknown>(instanceId: string, command: string, payload: unknown, timeoutMs: number): Promise<T> {
    if (instanceId !== this.instanceId) throw new BusUnknownInstanceError(instanceId);
    const copy = JSON.parse(this.handlers.encode('request', payload));
    return BusHandlers.settle<T>(await withTimeout(this.handlers.invoke(command, copy), timeoutMs, () => new BusTimeoutError(instanceId, command, timeoutMs)));
  }
}
