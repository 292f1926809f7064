import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AuthStateStore, Engine, EngineFactory, EngineNotRegisteringError } from '@wafleet/engines';
import { SessionLeases, type LeaseLoss } from '@wafleet/registry';
import { DataSource } from 'typeorm';
import { EventLog } from './event-log';
import { SessionBusyError, SessionsShuttingDownError } from './sessions.errors';
import { SessionLocks } from './session-locks';
import { AFTER_CLOSE, SessionStatusWrites, type StatusWriter } from './session-status-writes';
import type { Session, SessionStatus } from './session.entity';

/** A session this process runs an engine for. */
interface RunningSession {
  session: Pick<Session, 'id' | 'tenantId' | 'name'>;
  engine: Engine;
  epoch: string;
  /** The QR on show while registering. */
  qr?: string;
  /** Status writes in engine-event order. */
  writes: Promise<void>;
  /** Set when the engine closed; the run leaves `running` only once its final status is stored. */
  closing: boolean;
  /** Settles once the engine closed and its final status is stored. */
  closed: Promise<void>;
  /** The lease is gone (taken, or given up by self-fencing): the close stores nothing, the new owner reports. */
  abandoned: boolean;
  qrWaiters: Set<() => void>;
}

/**
 * An engine this replica runs, as other domains see it: the session, the epoch its owner holds (every
 * write about the session is fenced on it) and the engine itself.
 */
export interface RunningEngine {
  sessionId: string;
  tenantId: string;
  name: string;
  epoch: string;
  engine: Engine;
}

/**
 * The engines this replica runs, one per session it holds the lease of, and the statuses they report.
 * Each start claims the lease under a new fencing epoch, so an engine left over from an earlier start
 * (here or on another replica) can no longer write auth state or status. An engine whose lease is lost
 * stops at once; a closed engine gives its lease up. At shutdown every engine stops and its lease is
 * released, the session staying desired running for a survivor (or the next boot) to take. Callers hold
 * the session's lifecycle lock around launch, halt and logout.
 */
@Injectable()
export class SessionRuntime implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionRuntime.name);
  private readonly running = new Map<string, RunningSession>();
  /** Launches under way, so shutdown can wait for an engine that is not in `running` yet. */
  private readonly launches = new Set<Promise<void>>();
  private shuttingDown = false;
  private readonly attachers: ((running: RunningEngine) => void)[] = [];

  constructor(
    private readonly leases: SessionLeases,
    private readonly dataSource: DataSource,
    private readonly engines: EngineFactory,
    private readonly log: EventLog,
    private readonly statuses: SessionStatusWrites,
    private readonly locks: SessionLocks,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.stopAll();
  }

  /** Refuses new launches, waits for those under way, then stops every engine and releases its lease. */
  async stopAll(): Promise<void> {
    this.shuttingDown = true;
    await Promise.allSettled([...this.launches]);
    await Promise.all([...this.running.keys()].map((id) => this.locks.run(id, () => this.halt(id))));
  }

  /** `attach` is called with every engine this replica starts from now on, before it connects. */
  onEngine(attach: (running: RunningEngine) => void): void {
    this.attachers.push(attach);
  }

  /** The engine running the session here, unless none is or it is closing. */
  engineOf(sessionId: string): RunningEngine | undefined {
    const run = this.running.get(sessionId);
    return run && !run.closing ? toRunningEngine(run) : undefined;
  }

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  isRunning(sessionId: string): boolean {
    return this.running.has(sessionId);
  }

  qrOf(sessionId: string): string | undefined {
    return this.running.get(sessionId)?.qr;
  }

  /**
   * Starts the session's engine under a new epoch; resolves once it is connecting. A running session is
   * left as it is; one whose engine is closing is started again once the close is stored.
   * @param options.resume only if the session is still desired running: a boot resume must not undo a
   *   stop or logout that was served before it reached this session
   */
  launch(session: Pick<Session, 'id' | 'tenantId' | 'name'>, options: { resume?: boolean } = {}): Promise<void> {
    if (this.shuttingDown) return options.resume ? Promise.resolve() : Promise.reject(new SessionsShuttingDownError());
    const launching = this.startEngine(session, options.resume ?? false).finally(() => this.launches.delete(launching));
    this.launches.add(launching);
    return launching;
  }

  private async startEngine(session: Pick<Session, 'id' | 'tenantId' | 'name'>, resume: boolean): Promise<void> {
    const existing = this.running.get(session.id);
    if (existing && !existing.closing) return;
    await existing?.closed;
    const epoch = await this.leases.claim(session.id, { onlyIfDesiredRunning: resume });
    if (epoch === null) {
      // A live owner elsewhere runs it; a start asked here still says what the user wants.
      if (!resume) await this.dataSource.query(`UPDATE sessions SET desired_state = 'running', updated_at = now() WHERE id = $1`, [session.id]);
      return;
    }
    const started = await this.statuses.starting(session.id, epoch);
    if (!started) return;
    const engine = this.engines.create({ sessionId: session.id, epoch });
    let markClosed!: () => void;
    const run: RunningSession = {
      session,
      engine,
      epoch,
      writes: Promise.resolve(),
      closing: false,
      abandoned: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
      qrWaiters: new Set(),
    };
    this.running.set(session.id, run);
    this.leases.hold(session.id, epoch, (loss) => this.abandon(run, loss));
    this.watch(run, markClosed);
    for (const attach of this.attachers) {
      try {
        attach(toRunningEngine(run));
      } catch (error) {
        this.logger.error({ err: error, sessionId: session.id }, 'attaching to an engine failed');
      }
    }
    try {
      await engine.start();
    } catch (error) {
      this.logger.error({ err: error, sessionId: session.id }, 'engine failed to start');
      run.closing = true;
      this.statuses.record(run, { status: 'failed' }, 'start_failed');
      await run.writes;
      await this.giveUp(run);
      markClosed();
    }
  }

  /**
   * Stops the engine (the session stays desired as it is) and waits until its final status is stored.
   * @returns whether an engine was running
   */
  async halt(sessionId: string): Promise<boolean> {
    const run = this.running.get(sessionId);
    if (!run) return false;
    await run.engine.stop();
    await run.closed;
    return true;
  }

  /**
   * Gives the session to another replica: the engine stops without storing a status, and the lease is
   * released for the replica placement prefers to claim; the session stays desired running.
   * @returns whether an engine was running
   */
  async handOff(sessionId: string): Promise<boolean> {
    const run = this.running.get(sessionId);
    if (!run) return false;
    run.abandoned = true;
    await run.engine.stop();
    await run.closed;
    return true;
  }

  /**
   * Unlinks the device and wipes the auth state. A session with no engine running cannot tell WhatsApp,
   * so only its auth state is wiped; the phone drops the device when it next checks.
   */
  async logout(session: Pick<Session, 'id' | 'tenantId' | 'name' | 'leaseEpoch'>): Promise<void> {
    const run = this.running.get(session.id);
    if (run && !run.closing) {
      await run.engine.logout();
      await run.closed;
      return;
    }
    await run?.closed;
    await new AuthStateStore(this.dataSource, session.id, BigInt(session.leaseEpoch)).wipe();
    // An engine that closed for another reason stored that status; the logout is stored after it. One that closed
    // for WhatsApp's own logout (the phone removed the device) stored logged_out already, whether it ended before
    // this call or during it, and a second would reach subscribers twice.
    const [row]: { status: SessionStatus }[] = await this.dataSource.query(`SELECT status FROM sessions WHERE id = $1 AND lease_epoch = $2`, [
      session.id,
      session.leaseEpoch,
    ]);
    if (row?.status === 'logged_out') return;
    const writer: StatusWriter = { session, epoch: session.leaseEpoch, writes: Promise.resolve() };
    this.statuses.record(writer, AFTER_CLOSE.logged_out, 'logged_out');
    await writer.writes;
  }

  /** The current QR, or the next one within `timeoutMs`; undefined when none came or the engine closed. */
  async waitForQr(sessionId: string, timeoutMs: number): Promise<string | undefined> {
    const run = this.running.get(sessionId);
    if (!run || run.qr) return run?.qr;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        run!.qrWaiters.delete(done);
        resolve();
      }
      run.qrWaiters.add(done);
    });
    return run.qr;
  }

  /** @returns the code, or undefined when the engine is not registering (not running, or already paired) */
  async requestPairingCode(sessionId: string, phone: string): Promise<string | undefined> {
    const run = this.running.get(sessionId);
    if (!run) return undefined;
    let code: string;
    try {
      code = await run.engine.requestPairingCode(phone);
    } catch (error) {
      if (error instanceof EngineNotRegisteringError) return undefined;
      // The socket closed under the request (a reconnect): nothing the caller did wrong.
      this.logger.warn({ err: error, sessionId }, 'asking for a pairing code failed');
      throw new SessionBusyError(run.session.name, 'reconnecting to WhatsApp');
    }
    // The code is valid whether or not its event is stored: a failed append is logged, not answered.
    await this.log
      .record(sessionId, run.epoch, 'session.pairing_code', { code, phone })
      .catch((error: unknown) => this.logger.error({ err: error, sessionId }, 'storing the pairing-code event failed'));
    return code;
  }

  private watch(run: RunningSession, markClosed: () => void): void {
    const { engine } = run;
    engine.on('qr', (qr) => {
      run.qr = qr;
      this.wakeQrWaiters(run);
      this.statuses.record(run, { status: 'scan_qr' }, undefined, { type: 'session.qr', data: { qr } });
    });
    engine.on('open', (me) => {
      run.qr = undefined;
      this.statuses.record(run, { status: 'working', me });
    });
    engine.on('close', (reason) => {
      run.qr = undefined;
      run.closing = true;
      this.wakeQrWaiters(run);
      if (reason !== 'stale_epoch' && !run.abandoned) this.statuses.record(run, AFTER_CLOSE[reason], reason);
      else this.logger.warn({ sessionId: run.session.id, epoch: run.epoch, reason }, 'engine stopped without the lease; the new owner reports');
      // Only now may a new launch claim: the final status must not land after the next run's.
      void run.writes.then(() => this.giveUp(run)).then(markClosed);
    });
  }

  /** The lease is gone: stop the engine at once, storing nothing under an epoch that is no longer ours. */
  private abandon(run: RunningSession, loss: LeaseLoss): void {
    run.abandoned = true;
    this.logger.warn({ sessionId: run.session.id, epoch: run.epoch, loss }, 'session lease lost; stopping its engine');
    void run.engine.stop();
  }

  /** Leaves the runtime and releases the lease, so another replica (or the next start) claims at once. */
  private async giveUp(run: RunningSession): Promise<void> {
    this.forget(run);
    try {
      await this.leases.release(run.session.id, run.epoch);
    } catch (error) {
      this.logger.warn({ err: error, sessionId: run.session.id }, 'releasing the session lease failed; it lapses by itself');
    }
  }

  private forget(run: RunningSession): void {
    if (this.running.get(run.session.id) === run) this.running.delete(run.session.id);
  }

  private wakeQrWaiters(run: RunningSession): void {
    for (const wake of [...run.qrWaiters]) wake();
  }
}

function toRunningEngine(run: RunningSession): RunningEngine {
  return { sessionId: run.session.id, tenantId: run.session.tenantId, name: run.session.name, epoch: run.epoch, engine: run.engine };
}
