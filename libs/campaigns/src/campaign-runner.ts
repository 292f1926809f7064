import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { MessageDispatcher } from '@wafleet/messages';
import { SessionEvents, SessionRuntime, SessionStatusWrites, type RunningEngine } from '@wafleet/sessions';
import { Lock, PubSub } from '@wafleet/sync';
import { CampaignLog } from './campaign-log';
import { paceDelayMs } from './campaign-pacing';
import { CampaignQuota, queueUnder } from './campaign-quota';
import { CampaignSends } from './campaign-sends';

/** Published when a campaign's status changed, so whichever replica runs it hears at once. */
export const CAMPAIGNS_CHANGED = 'campaigns.changed';

/** How often every replica looks for campaigns to run, start or stop: a missed wake costs at most this. */
const SWEEP_MS = 1_000;
/**
 * The lock that keeps a campaign running on one replica; extended while it runs. Short, so that after
 * its replica dies the session's new owner takes the campaign over soon after the session: the fenced
 * enqueue, not the lock, is what keeps a stale runner from sending.
 */
const LOCK_TTL_MS = 5_000;
const LOCK_EXTEND_MS = 1_500;
/** Longest sleep between looks at a campaign whose previous message is still pending. */
const BUSY_WAIT_MS = 500;
/** At most one `campaign.progress` per campaign this often (and one at the end). */
const PROGRESS_EVERY_MS = 1_000;
/** How long to wait before asking a quota that could not answer again. */
const QUOTA_RETRY_MS = 1_000;

/** A sleep that a wake ends early; a wake while awake makes the next sleep return at once. */
class Waker {
  private woken = false;
  private end?: () => void;

  wake(): void {
    if (this.end) this.end();
    else this.woken = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.end?.(), ms);
      this.end = () => {
        clearTimeout(timer);
        this.end = undefined;
        resolve();
      };
    });
  }
}

/** One campaign this replica runs now. */
interface Run {
  sessionId: string;
  wake: () => void;
  done: Promise<void>;
}

/**
 * Runs the campaigns of the sessions this replica owns, one message at a time. Each replica looks for
 * `running` campaigns of the sessions whose engine it runs (every second, when told over PubSub, when an
 * engine connects) and drives each under the lock `campaign:<id>`, so a campaign runs on one replica
 * even when two see it. Each message is queued by a transaction fenced on the session's lease epoch
 * (CampaignSends.enqueueNext) and sent by the MessageDispatcher; the next waits until it has left
 * `pending` and the pace's delay has passed. The state lives in the rows: when the engine moves to
 * another replica, this one stops and the new owner carries on from where the rows say.
 */
@Injectable()
export class CampaignRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CampaignRunner.name);
  private readonly runs = new Map<string, Run>();
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  private stopped = false;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly sends: CampaignSends,
    private readonly campaignLog: CampaignLog,
    private readonly quota: CampaignQuota,
    private readonly dispatcher: MessageDispatcher,
    private readonly lock: Lock,
    private readonly pubsub: PubSub,
    private readonly events: SessionEvents,
    private readonly statuses: SessionStatusWrites,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runtime.onEngine((running) => running.engine.on('open', () => void this.sweep()));
    // A campaign belongs to the account it ran under: stopped when that link ends (not at a first pairing),
    // at once rather than at the next sweep, which a session started again within the second would escape.
    this.statuses.onLinkChanged(async (change) => {
      if (!change.previous) return;
      for (const stopped of await this.campaignLog.stopLoggedOut(change.sessionId)) this.announce(stopped.id, stopped.session_id);
    });
    // A campaign message left `pending`: its runner may queue the next one now.
    this.events.subscribe((event) => {
      if (event.type === 'message.sent' || event.type === 'message.status') this.wakeSession(event.sessionId);
    });
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
    try {
      await this.pubsub.subscribe(CAMPAIGNS_CHANGED, (message) => {
        const { campaignId, sessionId } = (message ?? {}) as { campaignId?: string; sessionId?: string };
        if (campaignId && sessionId) this.kick(campaignId, sessionId);
      });
    } catch (error) {
      this.logger.warn({ err: error }, `cannot hear of campaign changes; relying on the sweep every ${SWEEP_MS} ms`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const runs = [...this.runs.values()];
    for (const run of runs) run.wake();
    await Promise.allSettled(runs.map((run) => run.done));
  }

  /** Tells every replica that the campaign changed; never throws (the sweep finds it anyway). */
  announce(campaignId: string, sessionId: string): void {
    this.kick(campaignId, sessionId);
    void this.pubsub.publish(CAMPAIGNS_CHANGED, { campaignId, sessionId }).catch((error: unknown) => this.logger.warn({ err: error, campaignId }, 'announcing a campaign change failed'));
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopped) return;
    this.sweeping = true;
    try {
      for (const started of await this.campaignLog.startDue()) this.announce(started.id, started.session_id);
      for (const stopped of await this.campaignLog.stopOrphaned()) this.announce(stopped.id, stopped.session_id);
      for (const campaign of await this.sends.runnable(this.runtime.runningIds())) this.kick(campaign.id, campaign.session_id);
    } catch (error) {
      this.logger.warn({ err: error }, 'looking for campaigns to run failed');
    } finally {
      this.sweeping = false;
    }
  }

  private wakeSession(sessionId: string): void {
    for (const run of this.runs.values()) if (run.sessionId === sessionId) run.wake();
  }

  /** Runs the campaign here if this replica runs its session's engine and nobody else runs it; wakes it if it runs here. */
  private kick(campaignId: string, sessionId: string): void {
    const existing = this.runs.get(campaignId);
    if (existing) return existing.wake();
    const running = this.runtime.engineOf(sessionId);
    if (this.stopped || !running) return;
    const waker = new Waker();
    const run: Run = { sessionId, wake: () => waker.wake(), done: Promise.resolve() };
    this.runs.set(campaignId, run);
    run.done = this.guarded(campaignId, running, (ms) => (this.stopped ? Promise.resolve() : waker.sleep(ms)))
      .catch((error: unknown) => this.logger.error({ err: error, campaignId }, 'running a campaign failed; the sweep will pick it up again'))
      .finally(() => this.runs.delete(campaignId));
  }

  private async guarded(campaignId: string, running: RunningEngine, sleep: (ms: number) => Promise<void>): Promise<void> {
    const key = `campaign:${campaignId}`;
    const token = await this.lock.acquire(key, LOCK_TTL_MS);
    if (!token) return;
    try {
      await this.drive(campaignId, running, sleep, () => this.lock.extend(key, token, LOCK_TTL_MS));
    } finally {
      await this.lock.release(key, token).catch(() => undefined);
    }
  }

  private async drive(campaignId: string, running: RunningEngine, sleep: (ms: number) => Promise<void>, extend: () => Promise<boolean>): Promise<void> {
    let nextAt = 0;
    let progressAt = Date.now();
    let extendedAt = Date.now();
    let queuedSinceProgress = false;
    const stillOwner = () => !this.stopped && this.runtime.engineOf(running.sessionId)?.epoch === running.epoch;
    while (stillOwner()) {
      if (Date.now() - extendedAt >= LOCK_EXTEND_MS) {
        if (!(await extend())) return;
        extendedAt = Date.now();
      }
      if (queuedSinceProgress && Date.now() - progressAt >= PROGRESS_EVERY_MS) {
        if (!(await this.campaignLog.progress(running, campaignId))) return;
        progressAt = Date.now();
        queuedSinceProgress = false;
      }
      const state = await this.sends.state(campaignId);
      if (!state || state.status !== 'running') return;
      if (state.busy) {
        await sleep(BUSY_WAIT_MS);
        continue;
      }
      if (!state.remaining) {
        if (await this.campaignLog.complete(running, campaignId)) return;
        await sleep(BUSY_WAIT_MS);
        continue;
      }
      if (Date.now() < nextAt) {
        await sleep(Math.min(nextAt - Date.now(), LOCK_EXTEND_MS));
        continue;
      }
      const quota = await this.quota.takeMessage(state.tenantId);
      if (quota.outcome === 'exceeded') {
        const stopped = await this.campaignLog.change(null, campaignId, ['running'], { status: 'stopped', reason: 'quota_exceeded', finished: true }, 'campaign.failed');
        if (stopped) this.announce(campaignId, running.sessionId);
        return;
      }
      if (quota.outcome === 'unavailable') {
        await sleep(QUOTA_RETRY_MS);
        continue;
      }
      const enqueued = await queueUnder(quota.taken, () => this.sends.enqueueNext(running, campaignId));
      if (enqueued.outcome === 'stale' || enqueued.outcome === 'not_running') return;
      if (enqueued.outcome === 'queued') {
        this.dispatcher.kick(running.sessionId);
        nextAt = Date.now() + paceDelayMs(state.perMinute, state.jitterPercent);
        queuedSinceProgress = true;
      }
    }
  }
}
