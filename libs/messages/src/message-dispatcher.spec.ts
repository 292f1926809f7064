import { PubSub, type MessageHandler } from '@wafleet/sync';
import { setTimeout as sleep } from 'node:timers/promises';
import { ANNOUNCE_GAP_MS, MessageDispatcher, MESSAGES_PENDING } from './message-dispatcher';

/** Holds every publish until the test lets it go, and remembers what was published. */
class HeldPubSub extends PubSub {
  readonly published: unknown[] = [];
  private readonly held: (() => void)[] = [];

  publish(channel: string, message: unknown): Promise<void> {
    this.published.push({ channel, message });
    return new Promise((resolve) => this.held.push(resolve));
  }

  subscribe(_channel: string, _handler: MessageHandler): Promise<() => Promise<void>> {
    return Promise.resolve(async () => undefined);
  }

  /** Lets the oldest held publish finish, and what it set off run. */
  async releaseOne(): Promise<void> {
    this.held.shift()?.();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const announcement = (sessionId: string) => ({ channel: MESSAGES_PENDING, message: { sessionId } });

describe('MessageDispatcher.announce', () => {
  // Only the pubsub is touched by announce.
  const dispatcherOver = (pubsub: PubSub) => new MessageDispatcher(undefined as never, undefined as never, undefined as never, pubsub);

  it('publishes one announcement per session at a time, and one more, a gap after it, for those asked for meanwhile', async () => {
    const pubsub = new HeldPubSub();
    const dispatcher = dispatcherOver(pubsub);
    dispatcher.announce('s1');
    dispatcher.announce('s1');
    dispatcher.announce('s1');
    dispatcher.announce('s2');
    expect(pubsub.published).toEqual([announcement('s1'), announcement('s2')]);
    await pubsub.releaseOne();
    // Asked for during the gap: joins the one the gap holds back.
    dispatcher.announce('s1');
    expect(pubsub.published).toEqual([announcement('s1'), announcement('s2')]);
    await sleep(ANNOUNCE_GAP_MS * 4);
    expect(pubsub.published).toEqual([announcement('s1'), announcement('s2'), announcement('s1')]);
    await pubsub.releaseOne();
    await pubsub.releaseOne();
    await sleep(ANNOUNCE_GAP_MS * 4);
    expect(pubsub.published).toHaveLength(3);
  });

  it('announces again after a failed publish, and publishes at once when nothing is in flight', async () => {
    const pubsub = new HeldPubSub();
    let failNext = true;
    const publish = pubsub.publish.bind(pubsub);
    pubsub.publish = (channel, message) => (failNext ? ((failNext = false), pubsub.published.push({ channel, message }), Promise.reject(new Error('redis away'))) : publish(channel, message));
    const dispatcher = dispatcherOver(pubsub);
    dispatcher.announce('s1');
    for (let i = 0; i < 5; i++) await Promise.resolve();
    dispatcher.announce('s1');
    expect(pubsub.published).toEqual([announcement('s1'), announcement('s1')]);
  });
});
