import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { EventLog } from './event-log';
import { SessionLocks } from './session-locks';
import { SessionRuntime } from './session-runtime';
import { Session, type SessionMe, type SessionStatus } from './session.entity';
import { toSessionView, type SessionView } from './session.view';
import { SessionBusyError, SessionStateError } from './sessions.errors';

/** How long a pairing-code request waits for a just-started session to reach WhatsApp. */
export const FIRST_QR_WAIT_MS = 20_000;

/**
 * What can be done to a session whose engine runs (or would run) on this replica: the lifecycle under
 * the session's lock, and what only the engine knows (the QR on show, a pairing code). SessionsService
 * calls it here, or has the owner call it through the Bus.
 */
@Injectable()
export class SessionLifecycle {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly runtime: SessionRuntime,
    private readonly locks: SessionLocks,
    private readonly log: EventLog,
  ) {}

  /** Starts the engine (a QR follows when the session is not linked); a running session is left as it is. */
  async start(session: Session): Promise<SessionView> {
    await this.locks.run(session.id, () => this.runtime.launch(session));
    return this.current(session.id);
  }

  /** Stops the engine and keeps it stopped across restarts; the link to the phone stays. */
  async stop(session: Session): Promise<SessionView> {
    await this.locks.run(session.id, async () => {
      await this.sessions.query(`UPDATE sessions SET desired_state = 'stopped', updated_at = now() WHERE id = $1`, [session.id]);
      if (await this.runtime.halt(session.id)) return;
      // No engine stands behind a live-looking status left by a crash or a failed start; its log says so too.
      await this.log.transact(async (manager, append) => {
        const [row]: { epoch: string; me: SessionMe | null }[] = await manager.query(
          `WITH stopped AS (
             UPDATE sessions SET status = 'stopped', updated_at = now() WHERE id = $1 AND status IN ('starting', 'scan_qr', 'working')
             RETURNING lease_epoch::text AS epoch, me)
           SELECT epoch, me FROM stopped`,
          [session.id],
        );
        if (row) await append({ sessionId: session.id, epoch: row.epoch, type: 'session.status', data: { status: 'stopped', me: row.me } });
      });
    });
    return this.current(session.id);
  }

  async restart(session: Session): Promise<SessionView> {
    await this.locks.run(session.id, async () => {
      await this.runtime.halt(session.id);
      await this.runtime.launch(session);
    });
    return this.current(session.id);
  }

  /** Unlinks the device from the phone and wipes the auth state: the next start shows a QR again. */
  async logout(session: Session): Promise<SessionView> {
    await this.locks.run(session.id, async () => {
      const current = await this.sessions.findOneByOrFail({ id: session.id });
      if (!current.me && !this.runtime.isRunning(session.id)) {
        throw new SessionStateError(current.name, current.status, 'it is not linked to a phone, so there is nothing to log out');
      }
      await this.runtime.logout(current);
    });
    return this.current(session.id);
  }

  /** Logs out first when the session is connected, so the phone's list of linked devices stays true. */
  async delete(session: Session): Promise<void> {
    await this.locks.run(session.id, async () => {
      const current = await this.sessions.findOneBy({ id: session.id });
      if (current?.status === 'working') await this.runtime.logout(current);
      else await this.runtime.halt(session.id);
      await this.sessions.delete({ id: session.id });
    });
  }

  /** The QR on show; only while the session is in `scan_qr`. */
  async qr(session: Session): Promise<string> {
    const qr = session.status === 'scan_qr' ? this.runtime.qrOf(session.id) : undefined;
    if (!qr) throw new SessionStateError(session.name, session.status, 'a QR exists only in scan_qr');
    return qr;
  }

  /**
   * A code to type on the phone instead of scanning. The session must be registering (`scan_qr`), or
   * `starting`, in which case this waits for it to reach WhatsApp first.
   */
  async pairingCode(session: Session, phone: string): Promise<{ code: string; phone: string }> {
    const refuse = (status: SessionStatus) =>
      new SessionStateError(session.name, status, 'a pairing code can be asked for only while it waits to be linked (scan_qr); start it first');
    // A linked session that is starting logs in; it will never show a QR.
    if ((session.status !== 'scan_qr' && session.status !== 'starting') || session.me) throw refuse(session.status);
    if (session.status === 'starting') await this.runtime.waitForQr(session.id, FIRST_QR_WAIT_MS);
    const code = await this.runtime.requestPairingCode(session.id, phone);
    if (code) return { code, phone };
    const now = await this.sessions.findOneByOrFail({ id: session.id });
    if (now.status === 'scan_qr') throw new SessionBusyError(now.name, 'reconnecting to WhatsApp');
    throw refuse(now.status);
  }

  private async current(id: string): Promise<SessionView> {
    return toSessionView(await this.sessions.findOneByOrFail({ id }));
  }
}
