import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { SessionRuntime, type RunningEngine } from '@wafleet/sessions';
import { PubSub } from '@wafleet/sync';
import { MessageOwner } from './message-owner';
import { MessageStore } from './message-store';

/** Published when a message is written to be sent, so the session's owner sends it at once. */
export const MESSAGES_PENDING = 'messages.pending';

/** How often the owner looks for pending messages anyway: a missed announcement costs at most this. */
const SWEEP_MS = 2_000;
/**
 * How long a session's next announcement waits after the previous one went out. While sends keep coming
 * the owner is draining anyway (its loop reads the queue again after every batch), so one announcement
 * per gap is enough; without it, a replica taking sends as fast as Redis answers published about as
 * often as it took one. A send that lands just after the owner's last read waits at most this long.
 */
export const ANNOUNCE_GAP_MS = 5;
/** Pending messages read at a time. */
const BATCH = 50;

/**
 * The send queue of the sessions this replica owns: messages written (on any replica) as `pending` are
 * sent by the session's owner one after another, oldest first, so a chat gets them in order. A session
 * starts draining when a message is announced, when its engine connects, and on a periodic sweep; it
 * pauses while the engine is not connected and resumes when it connects again. The queue is the
 * database, so after a crash or a failover the new owner sends what is left, under the WhatsApp ids the
 * messages were given, and nothing is sent twice. An engine is handed only what was accepted for the
 * account it is logged in as (MessageStore.pending), as it said at `open`, not as the session row says: a
 * row that missed a logout must not make another account send what was meant for the one before.
 */
@Injectable()
export class MessageDispatcher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MessageDispatcher.name);
  /** Sessions being drained now, and whether another pass was asked for meanwhile. */
  private readonly draining = new Map<string, { again: boolean }>();
  /** The account each engine reported at its last `open`: the only one whose messages it is handed. */
  private readonly accounts = new WeakMap<RunningEngine['engine'], string>();
  /** Sessions with an announcement in flight, and whether another was asked for meanwhile. */
  private readonly announcing = new Map<string, { again: boolean }>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: MessageStore,
    private readonly owner: MessageOwner,
    private readonly pubsub: PubSub,
  ) {}

  async onModuleInit(): Promise<void> {
    this.runtime.onEngine((running) =>
      running.engine.on('open', (me) => {
        this.accounts.set(running.engine, me.id);
        this.kick(running.sessionId);
      }),
    );
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
    try {
      await this.pubsub.subscribe(MESSAGES_PENDING, (message) => this.kick((message as { sessionId?: string })?.sessionId ?? ''));
    } catch (error) {
      this.logger.warn({ err: error }, `cannot hear of pending messages; relying on the sweep every ${SWEEP_MS} ms`);
    }
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Kicks every session this replica runs that has something pending, found with one query. */
  private async sweep(): Promise<void> {
    const running = this.runtime.runningIds();
    if (running.length === 0) return;
    try {
      for (const sessionId of await this.store.sessionsWithPending(running)) this.kick(sessionId);
    } catch (error) {
      this.logger.warn({ err: error }, 'looking for pending messages failed');
    }
  }

  /**
   * Tells the session's owner, wherever it runs, that it has something to send; never throws. One
   * announcement per session is in flight at a time: those asked for meanwhile become one more, published
   * once it is out, which still comes after every message written before it was asked for. Under a burst
   * of sends that is one publish per round trip instead of one per message, on every replica that hears it.
   */
  announce(sessionId: string): void {
    const current = this.announcing.get(sessionId);
    if (current) return void (current.again = true);
    const state = { again: false };
    this.announcing.set(sessionId, state);
    void this.pubsub
      .publish(MESSAGES_PENDING, { sessionId })
      .catch((error: unknown) => this.logger.warn({ err: error, sessionId }, 'announcing a pending message failed; the sweep will find it'))
      .finally(() => {
        if (!state.again) return void this.announcing.delete(sessionId);
        // Asked again meanwhile: once more after the gap (what is asked during the gap joins it).
        setTimeout(() => {
          this.announcing.delete(sessionId);
          this.announce(sessionId);
        }, ANNOUNCE_GAP_MS).unref();
      });
  }

  /** Drains the session's queue if this replica runs its engine. */
  kick(sessionId: string): void {
    if (this.stopped || !this.runtime.engineOf(sessionId)) return;
    const current = this.draining.get(sessionId);
    if (current) return void (current.again = true);
    const state = { again: false };
    this.draining.set(sessionId, state);
    void this.drain(sessionId, state)
      .catch((error: unknown) => this.logger.error({ err: error, sessionId }, 'sending pending messages failed; the sweep will retry'))
      .finally(() => {
        this.draining.delete(sessionId);
        if (state.again) this.kick(sessionId);
      });
  }

  private async drain(sessionId: string, state: { again: boolean }): Promise<void> {
    for (;;) {
      state.again = false;
      const running: RunningEngine | undefined = this.runtime.engineOf(sessionId);
      if (!running || this.stopped) return;
      const rows = await this.store.pending(sessionId, this.accounts.get(running.engine) ?? null, BATCH);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.stopped || this.runtime.engineOf(sessionId)?.epoch !== running.epoch) return;
        const outcome = await this.owner.sendPending(running, row);
        // Not connected: wait for `open`. Retry: the sweep comes back to it, keeping the chat's order.
        if (outcome === 'not_connected' || outcome === 'retry') {
          state.again = false;
          return;
        }
      }
    }
  }
}
