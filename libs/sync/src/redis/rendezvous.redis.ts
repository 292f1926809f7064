import { Rendezvous } from '../sync.ports';
import { Waiters } from '../shared/waiters';
import { RedisConnections } from './connections.redis';
import { RedisPubSub } from './pubsub.redis';

const CHANNEL = '__rendezvous';

/**
 * A signal is kept under its key for RENDEZVOUS_TTL_MS and announced on one channel, in one MULTI; a wait
 * listens first and then reads the key, so a signal landing in between is not missed.
 */
export class RedisRendezvous extends Rendezvous {
  private readonly waiters = new Waiters();

  constructor(
    private readonly redis: RedisConnections,
    private readonly pubsub: RedisPubSub,
    private readonly ttlMs: number,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.pubsub.subscribe(CHANNEL, (message) => {
      const { k, v } = message as { k: string; v: unknown };
      this.waiters.resolveAll(k, v);
    });
  }

  async wait<T = unknown>(key: string, timeoutMs: number): Promise<T | undefined> {
    const waiter = this.waiters.add(key, timeoutMs);
    try {
      const kept = await this.redis.run('rendezvous', 'wait', () => this.redis.command.get(this.redis.key(`rdv:${key}`)));
      if (kept !== null) waiter.resolve(JSON.parse(kept));
    } catch (error) {
      waiter.resolve(undefined);
      throw error;
    }
    return (await waiter.promise) as T | undefined;
  }

  async signal(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value ?? null);
    if (this.waiters.has(key)) this.waiters.resolveAll(key, JSON.parse(json));
    const [channel, data] = this.pubsub.envelope(CHANNEL, `{"k":${JSON.stringify(key)},"v":${json}}`);
    await this.redis.run('rendezvous', 'signal', () =>
      this.redis.command.multi().set(this.redis.key(`rdv:${key}`), json, 'PX', this.ttlMs).publish(channel, data).exec(),
    );
  }

  close(): void {
    this.waiters.clear();
  }
}
