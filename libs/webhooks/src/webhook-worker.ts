import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { EventLog, SessionEvents } from '@wafleet/sessions';
import { PubSub } from '@wafleet/sync';
import { performance } from 'node:perf_hooks';
import { decide, type AttemptResult } from './retry-policy';
import { bodyText, ENQUEUE_DELIVERIES_SQL, WebhookOutbox, type ClaimedDelivery } from './webhook-outbox';
import { OutcomeWriter, type PendingOutcome } from './webhook-outcomes';
import { signatureHeaders, webhookIdOf } from './webhook-secret';
import { WebhookSender } from './webhook-sender';
import { resolveTarget, TargetRefused, type ResolvedTarget } from './webhook-target';
import { WebhookMetrics } from './webhook.metrics';

/** Published when deliveries became due, so idle workers on every replica claim at once. */
export const WEBHOOKS_DUE = 'webhooks.due';
/** Most deliveries claimed in one statement. */
const MAX_BATCH = 100;
/** Event ids remembered between their outbox write and their commit; past this the memory is cleared. */
const MAX_REMEMBERED = 10_000;
/** Longest wait on shutdown for requests in flight before they are cut and their claims released. */
const SHUTDOWN_GRACE_MS = 5_000;
/**
 * How long a checked target (URL → the address it resolved to) is reused. Requests still go only to an
 * address that passed the check; a host that moves is followed within this.
 */
const TARGET_TTL_MS = 5_000;
const MAX_TARGETS = 1_000;

type Signal = 'work' | 'slot';

/**
 * Delivers the outbox, on every replica: claims due rows in batches, attempts them with at most
 * WEBHOOK_CONCURRENCY requests in flight, writes outcomes in batches, and claims more as slots free.
 * Idle, it waits WEBHOOK_POLL_MS, or less when woken: by an event of this replica that enqueued
 * deliveries (once committed), by another replica's announcement, or when a retry it scheduled is due.
 * On shutdown it stops claiming, lets requests in flight finish for a moment, and gives back the claims
 * of those it cut, so nothing waits for a lease to lapse.
 */
@Injectable()
export class WebhookWorker implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookWorker.name);
  private readonly inFlight = new Map<string, { attempts: number; abort: AbortController; done: Promise<void> }>();
  private readonly enqueuedEvents = new Set<string>();
  private readonly writer: OutcomeWriter;
  private readonly concurrency: number;
  private readonly minClaim: number;
  private stopped = false;
  private running?: Promise<void>;
  private waiting?: { for: Signal; resolve: () => void };
  /** Bumped by every wake-up for work, so a claim that came back short does not swallow one. */
  private workSignals = 0;
  private mayBeDue = true;
  private retryTimer?: { at: number; timer: NodeJS.Timeout };
  private readonly retryTimes = new Set<number>();
  private readonly targets = new Map<string, { target: ResolvedTarget; until: number }>();
  private announcing?: { again: boolean };
  private unsubscribeDue?: () => Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly outbox: WebhookOutbox,
    private readonly sender: WebhookSender,
    private readonly metrics: WebhookMetrics,
    private readonly log: EventLog,
    private readonly events: SessionEvents,
    private readonly pubsub: PubSub,
  ) {
    this.concurrency = config.webhooks.concurrency;
    // Claim when half the slots are free: fewer, larger claims than one per free slot.
    this.minClaim = Math.max(1, Math.min(MAX_BATCH, Math.floor(this.concurrency / 2)));
    this.writer = new OutcomeWriter(outbox, metrics, (delayMs) => this.wakeAt(Date.now() + delayMs));
  }

  async onModuleInit(): Promise<void> {
    this.metrics.observeQueue(() => this.outbox.queueStats());
    // Stays registered through shutdown: sessions stopping then still append events, whose deliveries
    // must be written with them (the next boot, or another replica, sends them).
    this.log.onAppended({
      sql: ENQUEUE_DELIVERIES_SQL,
      written: (event, deliveries) => {
        if (deliveries === 0) return;
        if (this.enqueuedEvents.size >= MAX_REMEMBERED) this.enqueuedEvents.clear();
        this.enqueuedEvents.add(event.id);
      },
    });
    this.events.subscribe((event) => {
      if (this.enqueuedEvents.delete(event.id) && !this.stopped) this.announce();
    });
    try {
      this.unsubscribeDue = await this.pubsub.subscribe(WEBHOOKS_DUE, () => this.wake('work'));
    } catch (error) {
      this.logger.warn({ err: error }, `cannot hear of due webhooks from other replicas; polling every ${this.config.webhooks.pollMs} ms`);
    }
  }

  onApplicationBootstrap(): void {
    this.running = this.run().catch((error: unknown) => this.logger.error({ err: error }, 'the webhook worker stopped'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake('work');
    clearTimeout(this.retryTimer?.timer);
    void this.unsubscribeDue?.().catch(() => undefined);
    const grace = new Promise((resolve) => setTimeout(resolve, Math.min(SHUTDOWN_GRACE_MS, this.config.webhooks.timeoutMs)).unref());
    // A claim under way (on a database that stopped answering, say) is not waited for past the grace.
    await Promise.race([this.running, grace]);
    await Promise.race([Promise.all([...this.inFlight.values()].map((flight) => flight.done)), grace]);
    const cut = [...this.inFlight].map(([id, flight]) => (flight.abort.abort(), { id, attempts: flight.attempts }));
    await this.writer.finish();
    try {
      await this.outbox.release(cut);
    } catch (error) {
      this.logger.warn({ err: error, deliveries: cut.length }, 'giving back webhook claims failed; they come back when their lease lapses');
    }
  }

  /** Deliveries may be due now (written by a request on this replica, or a retry asked for). */
  announce(): void {
    this.wake('work');
    if (this.announcing) return void (this.announcing.again = true);
    const state = { again: false };
    this.announcing = state;
    void this.pubsub
      .publish(WEBHOOKS_DUE, {})
      .catch((error: unknown) => this.logger.debug({ err: error }, 'announcing due webhooks failed; other replicas poll'))
      .finally(() => {
        this.announcing = undefined;
        if (state.again) this.announce();
      });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.concurrency - this.inFlight.size;
      if (free < this.minClaim) {
        await this.pause('slot');
        continue;
      }
      if (!this.mayBeDue) {
        await this.pause('work', this.config.webhooks.pollMs);
        this.mayBeDue = true;
        continue;
      }
      const signals = this.workSignals;
      const asked = Math.min(free, MAX_BATCH);
      let claimed: ClaimedDelivery[];
      try {
        claimed = await this.outbox.claim(asked);
      } catch (error) {
        this.logger.warn({ err: error }, 'claiming webhook deliveries failed; trying again');
        await this.pause('work', this.config.webhooks.pollMs);
        continue;
      }
      if (claimed.length < asked && this.workSignals === signals) this.mayBeDue = false;
      for (const delivery of claimed) this.start(delivery);
    }
  }

  private start(delivery: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = this.attempt(delivery, abort.signal)
      .then((outcome) => {
        if (outcome) this.writer.push(outcome);
      })
      .catch((error: unknown) => this.logger.error({ err: error, delivery: delivery.id }, 'a webhook attempt failed unexpectedly; it comes back when its claim lapses'))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.wake('slot');
      });
    this.inFlight.set(delivery.id, { attempts: delivery.attempts, abort, done });
  }

  /** @returns the outcome to write, or null when cut short by shutdown (the claim is given back) */
  private async attempt(delivery: ClaimedDelivery, signal: AbortSignal): Promise<PendingOutcome | null> {
    const base = { id: delivery.id, attempts: delivery.attempts, subscriptionId: delivery.subscriptionId };
    if (!delivery.enabled) return { ...base, status: 'disabled', delayMs: 0, lastStatus: null, lastError: 'the subscription is disabled' };
    const started = performance.now();
    let result: AttemptResult;
    try {
      const target = await this.target(delivery.url);
      const body = bodyText(delivery.payload);
      result = await this.sender.post(target, signatureHeaders(webhookIdOf(delivery.id), new Date(), body, delivery.secrets), body, signal);
    } catch (error) {
      if (!(error instanceof TargetRefused)) throw error;
      result = { error: `refused: ${error.message}` };
    }
    if (signal.aborted) return null;
    this.metrics.attempted(result, (performance.now() - started) / 1000);
    const decision = decide(result, delivery.attempts, this.config.webhooks.retryScheduleMs);
    return {
      ...base,
      status: decision.status,
      delayMs: decision.status === 'pending' ? decision.delayMs : 0,
      lastStatus: result.status ?? null,
      lastError: result.error ?? null,
    };
  }

  /** The URL checked and resolved, reused for TARGET_TTL_MS; a refusal is not kept. */
  private async target(url: string): Promise<ResolvedTarget> {
    const now = Date.now();
    const known = this.targets.get(url);
    if (known && known.until > now) return known.target;
    const target = await resolveTarget(url, this.config.webhooks.allowPrivate);
    if (this.targets.size >= MAX_TARGETS) this.targets.clear();
    this.targets.set(url, { target, until: now + TARGET_TTL_MS });
    return target;
  }

  private wake(signal: Signal): void {
    if (signal === 'work') {
      this.workSignals++;
      this.mayBeDue = true;
    }
    if (this.waiting && (this.waiting.for === signal || this.stopped)) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve();
    }
  }

  /**
   * Wakes the worker when a retry it scheduled is due (to 10 ms), so retries do not wait for the poll.
   * Only the earliest is on a timer; the rest wait in a set that the timer reads when it fires.
   */
  private wakeAt(at: number): void {
    if (this.stopped) return;
    if (this.retryTimes.size < MAX_REMEMBERED) this.retryTimes.add(Math.ceil(at / 10) * 10);
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    let next = Infinity;
    for (const at of this.retryTimes) next = Math.min(next, at);
    if (next === Infinity || (this.retryTimer && this.retryTimer.at <= next)) return;
    clearTimeout(this.retryTimer?.timer);
    const timer = setTimeout(() => {
      this.retryTimer = undefined;
      const now = Date.now();
      for (const at of this.retryTimes) if (at <= now + 5) this.retryTimes.delete(at);
      this.wake('work');
      this.armRetryTimer();
    }, Math.max(0, next - Date.now()));
    timer.unref();
    this.retryTimer = { at: next, timer };
  }

  private pause(signal: Signal, timeoutMs?: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.wake(signal), timeoutMs);
      this.waiting = {
        for: signal,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}
