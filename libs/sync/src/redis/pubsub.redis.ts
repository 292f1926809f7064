import { LocalFanout } from '../memory/pubsub.memory';
import { MessageHandler, PubSub } from '../sync.ports';
import { RedisConnections } from './redis-connections';

interface Envelope {
  /** The publishing instance, which already delivered it locally. */
  o: string;
  m: unknown;
}

/**
 * Local subscribers are served at once from memory; other replicas through Redis. Wanted channels are
 * subscribed again whenever the subscriber connection becomes ready, so an outage needs no restart.
 */
export class RedisPubSub extends PubSub {
  private readonly fanout = new LocalFanout();

  constructor(
    private readonly redis: RedisConnections,
    private readonly instanceId: string,
  ) {
    super();
    redis.subscriber.on('message', (channel: string, data: string) => this.received(channel, data));
    redis.onSubscriberReady(() => void this.resubscribe());
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const [full, data] = this.envelope(channel, message);
    this.fanout.deliver(channel, JSON.stringify(message ?? null));
    await this.redis.run('pubsub', 'publish', () => this.redis.publisher.publish(full, data));
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    if (this.fanout.add(channel, handler)) {
      // While Redis is away the subscription waits for the next 'ready'; local delivery works meanwhile.
      await this.redis.subscriber.subscribe(this.redis.key(`ps:${channel}`)).catch(() => undefined);
    }
    return async () => {
      if (this.fanout.remove(channel, handler)) await this.redis.subscriber.unsubscribe(this.redis.key(`ps:${channel}`)).catch(() => undefined);
    };
  }

  /** The Redis channel and payload for a message, for senders that publish inside a transaction. */
  envelope(channel: string, message: unknown): [string, string] {
    const envelope: Envelope = { o: this.instanceId, m: message ?? null };
    return [this.redis.key(`ps:${channel}`), JSON.stringify(envelope)];
  }

  /** Delivers to local subscribers only: for senders that already sent to Redis themselves. */
  deliverLocally(channel: string, message: unknown): void {
    this.fanout.deliver(channel, JSON.stringify(message ?? null));
  }

  private received(full: string, data: string): void {
    const prefix = this.redis.key('ps:');
    if (!full.startsWith(prefix)) return;
    const envelope = JSON.parse(data) as Envelope;
    if (envelope.o === this.instanceId) return;
    this.fanout.deliver(full.slice(prefix.length), JSON.stringify(envelope.m));
  }

  private async resubscribe(): Promise<void> {
    const channels = this.fanout.channels().map((channel) => this.redis.key(`ps:${channel}`));
    if (channels.length) await this.redis.subscriber.subscribe(...channels).catch(() => undefined);
  }
}
