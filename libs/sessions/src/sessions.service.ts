import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { decodeCursor, isUuid, Page, toPage, ValidationFailedError } from '@wafleet/core';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, Repository } from 'typeorm';
import { parsePhoneNumber } from './phone-number';
import { SessionLocks } from './session-locks';
import { SessionRuntime } from './session-runtime';
import { Session, type DesiredState, type SessionMe, type SessionStatus } from './session.entity';
import { SessionBusyError, SessionNameTakenError, SessionNotFoundError, SessionStateError } from './sessions.errors';

export interface SessionView {
  id: string;
  name: string;
  status: SessionStatus;
  desiredState: DesiredState;
  me: SessionMe | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

const view = (s: Session): SessionView => ({
  id: s.id,
  name: s.name,
  status: s.status,
  desiredState: s.desiredState,
  me: s.me,
  metadata: s.metadata,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
});

const UNIQUE_VIOLATION = '23505';
const MAX_METADATA_BYTES = 8 * 1024;
/** How long a pairing-code request waits for a just-started session to reach WhatsApp. */
const FIRST_QR_WAIT_MS = 20_000;

/**
 * Sessions of one tenant and their lifecycle. A session is addressed by id or by name; another tenant's
 * session is "not found", exactly like one that does not exist. Lifecycle changes of one session run one
 * at a time (SessionLocks); the engine's own reports (QR, open, close) are stored by SessionRuntime.
 */
@Injectable()
export class SessionsService {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly runtime: SessionRuntime,
    private readonly locks: SessionLocks,
  ) {}

  async create(tenantId: string, name: string, metadata: Record<string, unknown> = {}): Promise<SessionView> {
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
      throw new ValidationFailedError([{ field: 'metadata', problems: [`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`] }]);
    }
    try {
      const [row] = await this.sessions.query(
        `INSERT INTO sessions (id, tenant_id, name, metadata) VALUES ($1, $2, $3, $4::jsonb) RETURNING id`,
        [randomUUID(), tenantId, name, JSON.stringify(metadata)],
      );
      return view(await this.sessions.findOneByOrFail({ id: (row as { id: string }).id }));
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new SessionNameTakenError(name);
      }
      throw error;
    }
  }

  async list(tenantId: string, limit: number, cursor?: string): Promise<Page<SessionView>> {
    const query = this.sessions
      .createQueryBuilder('s')
      .where('s.tenant_id = :tenantId', { tenantId })
      .orderBy('s.created_at', 'ASC')
      .addOrderBy('s.id', 'ASC')
      .take(limit + 1);
    if (cursor) query.andWhere('(s.created_at, s.id) > (:createdAt, :id)', decodeCursor(cursor));
    return toPage(await query.getMany(), limit, view);
  }

  async get(tenantId: string, idOrName: string): Promise<SessionView> {
    return view(await this.find(tenantId, idOrName));
  }

  /** Starts the engine (a QR follows when the session is not linked); a running session is left as it is. */
  async start(tenantId: string, idOrName: string): Promise<SessionView> {
    const session = await this.find(tenantId, idOrName);
    await this.locks.run(session.id, () => this.runtime.launch(session));
    return this.get(tenantId, session.id);
  }

  /** Stops the engine and keeps it stopped across restarts; the link to the phone stays. */
  async stop(tenantId: string, idOrName: string): Promise<SessionView> {
    const session = await this.find(tenantId, idOrName);
    await this.locks.run(session.id, async () => {
      await this.sessions.query(`UPDATE sessions SET desired_state = 'stopped', updated_at = now() WHERE id = $1`, [session.id]);
      if (await this.runtime.halt(session.id)) return;
      // No engine stands behind a live-looking status left by a crash or a failed start.
      await this.sessions.query(
        `UPDATE sessions SET status = 'stopped', updated_at = now() WHERE id = $1 AND status IN ('starting', 'scan_qr', 'working')`,
        [session.id],
      );
    });
    return this.get(tenantId, session.id);
  }

  async restart(tenantId: string, idOrName: string): Promise<SessionView> {
    const session = await this.find(tenantId, idOrName);
    await this.locks.run(session.id, async () => {
      await this.runtime.halt(session.id);
      await this.runtime.launch(session);
    });
    return this.get(tenantId, session.id);
  }

  /** Unlinks the device from the phone and wipes the auth state: the next start shows a QR again. */
  async logout(tenantId: string, idOrName: string): Promise<SessionView> {
    const session = await this.find(tenantId, idOrName);
    await this.locks.run(session.id, async () => {
      const current = await this.sessions.findOneByOrFail({ id: session.id });
      if (!current.me && !this.runtime.isRunning(session.id)) {
        throw new SessionStateError(current.name, current.status, 'it is not linked to a phone, so there is nothing to log out');
      }
      await this.runtime.logout(current);
    });
    return this.get(tenantId, session.id);
  }

  /** Logs out first when the session is connected, so the phone's list of linked devices stays true. */
  async delete(tenantId: string, idOrName: string): Promise<void> {
    const session = await this.find(tenantId, idOrName);
    await this.locks.run(session.id, async () => {
      const current = await this.sessions.findOneBy({ id: session.id });
      if (current?.status === 'working') await this.runtime.logout(current);
      else await this.runtime.halt(session.id);
      await this.sessions.delete({ id: session.id });
    });
  }

  /** The QR on show; only while the session is in `scan_qr`. */
  async qr(tenantId: string, idOrName: string): Promise<string> {
    const session = await this.find(tenantId, idOrName);
    const qr = session.status === 'scan_qr' ? this.runtime.qrOf(session.id) : undefined;
    if (!qr) throw new SessionStateError(session.name, session.status, 'a QR exists only in scan_qr');
    return qr;
  }

  /**
   * A code to type on the phone instead of scanning. The session must be registering (`scan_qr`), or
   * `starting`, in which case this waits for it to reach WhatsApp first.
   */
  async pairingCode(tenantId: string, idOrName: string, phoneInput: string): Promise<{ code: string; phone: string }> {
    const phone = parsePhoneNumber(phoneInput, 'phone');
    const session = await this.find(tenantId, idOrName);
    const refuse = (status: SessionStatus) =>
      new SessionStateError(session.name, status, 'a pairing code can be asked for only while it waits to be linked (scan_qr); start it first');
    // A linked session that is starting logs in; it will never show a QR.
    if ((session.status !== 'scan_qr' && session.status !== 'starting') || session.me) throw refuse(session.status);
    if (session.status === 'starting') await this.runtime.waitForQr(session.id, FIRST_QR_WAIT_MS);
    const code = await this.runtime.requestPairingCode(session.id, phone);
    if (code) return { code, phone };
    const now = await this.find(tenantId, session.id);
    if (now.status === 'scan_qr') throw new SessionBusyError(now.name, 'reconnecting to WhatsApp');
    throw refuse(now.status);
  }

  private async find(tenantId: string, idOrName: string): Promise<Session> {
    const session = await this.sessions.findOneBy(isUuid(idOrName) ? { tenantId, id: idOrName } : { tenantId, name: idOrName });
    if (!session) throw new SessionNotFoundError(idOrName);
    return session;
  }
}
