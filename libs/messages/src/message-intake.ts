import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { InboundMessage, MessageStatusUpdate } from '@wafleet/engines';
import { SessionRuntime, SessionStatusWrites, type LinkChange, type MessageStatusName, type RunningEngine } from '@wafleet/sessions';
import { Rendezvous } from '@wafleet/sync';
import { keysResolvedBy } from './message-status';
import { MessageChanges } from './message-changes';

/** Messages failed per transaction when the linked account changes. */
const FAIL_BATCH = 100;

/**
 * What the engines this replica runs report about messages — receipts of sent ones, and messages
 * received — stored under the lease epoch with their events. Writes of one session are serialised, so its
 * log tells them in the order the engine reported them; a waiter for a status (on any replica) is woken
 * once the status is stored. When the account a session is linked to changes (a logout, or a pairing
 * after one), what waits to be sent for another account fails (the send queue never hands it to the engine).
 */
@Injectable()
export class MessageIntake implements OnModuleInit {
  private readonly logger = new Logger(MessageIntake.name);
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Receipts for messages whose send is under way, held until the send is recorded: `<session>|<waId>`. */
  private readonly held = new Map<string, MessageStatusUpdate[]>();

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly changes: MessageChanges,
    private readonly rendezvous: Rendezvous,
    private readonly statuses: SessionStatusWrites,
  ) {}

  onModuleInit(): void {
    this.runtime.onEngine((running) => this.attach(running));
    this.statuses.onLinkChanged((change) => this.failUnlinked(change));
  }

  /**
   * Fails what waits to be sent for an account the session is no longer linked to, in transactions of
   * FAIL_BATCH messages, so the session row (which each event bumps) is never held for long; waiters are
   * woken without holding up the session's status writes.
   */
  private async failUnlinked(change: LinkChange): Promise<void> {
    for (;;) {
      const failed = await this.changes.failUnlinked(change, change.me?.id ?? null, FAIL_BATCH);
      for (const id of failed) void this.signal(id, 'failed');
      if (failed.length < FAIL_BATCH) return;
    }
  }

  /** Runs `work` after every write of the session already queued on this replica. */
  serial<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(sessionId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(sessionId, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.queues.get(sessionId) === next) this.queues.delete(sessionId);
      });
    return next;
  }

  /**
   * Runs `send` for a message and then `record` in the session's queue; receipts the engine reports for
   * it meanwhile are held and stored after `record`, so the log says sent before delivered. Other writes
   * of the session are not held up by the send itself.
   */
  async sending<T>(running: RunningEngine, waId: string, send: () => Promise<T>, record: (sent: T) => Promise<void>): Promise<void> {
    const key = `${running.sessionId}|${waId}`;
    this.held.set(key, []);
    let sent: T;
    try {
      sent = await send();
    } catch (error) {
      await this.serial(running.sessionId, () => this.release(running, key));
      throw error;
    }
    await this.serial(running.sessionId, async () => {
      try {
        await record(sent);
      } finally {
        await this.release(running, key);
      }
    });
  }

  /** Wakes whoever waits (on any replica) for the message to reach a status up to `status`. */
  async signal(id: string, status: MessageStatusName): Promise<void> {
    await Promise.all(
      keysResolvedBy(id, status).map((key) =>
        // A waiter that misses the signal still reads the stored status when its wait ends.
        this.rendezvous.signal(key, status).catch((error: unknown) => this.logger.warn({ err: error, messageId: id }, 'waking status waiters failed')),
      ),
    );
  }

  private attach(running: RunningEngine): void {
    running.engine.on('status', (update) => void this.serial(running.sessionId, () => this.applyStatus(running, update)).catch((error: unknown) => this.failed(running, error, 'status')));
    running.engine.on('message', (message) => void this.serial(running.sessionId, () => this.receive(running, message)).catch((error: unknown) => this.failed(running, error, 'message')));
  }

  private async applyStatus(running: RunningEngine, update: MessageStatusUpdate): Promise<void> {
    const held = this.held.get(`${running.sessionId}|${update.id}`);
    if (held) return void held.push(update);
    const applied = await this.changes.applyStatus(running, update);
    if (applied) await this.signal(applied.id, applied.status);
  }

  /** Stops holding a message's receipts and stores those that came, in order. */
  private async release(running: RunningEngine, key: string): Promise<void> {
    const held = this.held.get(key) ?? [];
    this.held.delete(key);
    for (const update of held) await this.applyStatus(running, update);
  }

  private async receive(running: RunningEngine, message: InboundMessage): Promise<void> {
    await this.changes.storeInbound(running, message);
  }

  private failed(running: RunningEngine, error: unknown, what: string): void {
    this.logger.error({ err: error, sessionId: running.sessionId }, `storing a ${what} the engine reported failed`);
  }
}
