import { LocalFanout } from '../shared/fanout';
import { MessageHandler, PubSub } from '../sync.ports';

export class MemoryPubSub extends PubSub {
  private readonly fanout = new LocalFanout();

  async publish(channel: string, message: unknown): Promise<void> {
    if (this.fanout.has(channel)) this.fanout.deliver(channel, JSON.stringify(message ?? null));
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.fanout.add(channel, handler);
    return async () => void this.fanout.remove(channel, handler);
  }
}
