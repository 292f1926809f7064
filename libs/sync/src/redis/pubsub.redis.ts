import { LocalFanout } from '../shared/fanout';
import { MessageHandler, PubSub } from '../sync.ports';
import { RedisConnections } from './connections.redis';

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
  /** How this instance's own envelopes begin: Redis echoes them back, and they are dropped unparsed. */
  private readonly ownOrigin: string;

  constructor(
    private readonly redis: RedisConnections,
    private readonly instanceId: string,
  ) {
    super();
    this.ownOrigin = `{"o":${JSON.stringify(instanceId)},`;
    redis.subscriber.on('message', (channel: string, data: string) => this.received(channel, data));
    redis.onSubscriberReady(() => void this.resubscribe());
  }

  async publish(channel: string, message: unknown): Promise<void> {
    const json = JSON.stringify(message ?? null);
    const [full, data] = this.envelope(channel, json);
    if (this.fanout.has(channel)) this.fanout.deliver(channel, json);
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

  /**
   * Sends JSON already made to other replicas only (no local delivery) and answers how many subscriber
   * connections received it: 0 means nobody listens on that channel.
   */
  async sendJson(channel: string, json: string): Promise<number> {
    const [full, data] = this.envelope(channel, json);
    return this.redis.run('pubsub', 'publish', () => this.redis.publisher.publish(full, data));
  }

  /**
   * The Redis channel and payload for a message already serialised as JSON, for senders that publish
   * inside a transaction of their own.
   */
  envelope(channel: string, json: string): [string, string] {
    return [this.redis.key(`ps:${channel}`), `${this.ownOrigin}"m":${json}}`];
  }

  private received(full: string, data: string): void {
    const prefix = this.redis.key('ps:');
    if (!full.startsWith(prefix) || data.startsWith(this.ownOrigin)) return;
    const channel = full.slice(prefix.length);
    if (!this.fanout.has(channel)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(data) as Envelope;
    } catch {
      // Another version or a stray publisher must not take this process down.
      return this.redis.countFailure('pubsub', 'unreadable_message');
    }
    this.fanout.deliverOwned(channel, envelope.m);
  }

  private async resubscribe(): Promise<void> {
    const channels = this.fanout.channels().map((channel) => this.redis.key(`ps:${channel}`));
    if (channels.length) await this.redis.subscriber.subscribe(...channels).catch(() => undefined);
  }
}
