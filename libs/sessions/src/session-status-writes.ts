import { Injectable, Logger } from '@nestjs/common';
import type { EngineCloseReason } from '@wafleet/engines';
import { EventLog } from './event-log';
import type { SessionEventData } from './session-events';
import type { DesiredState, Session, SessionMe, SessionStatus } from './session.entity';

/** What a status write needs: the row, the epoch it must still hold, and the writes it comes after. */
export interface StatusWriter {
  session: Pick<Session, 'id'>;
  epoch: string;
  /** Status writes in engine-event order: a new one is chained here. */
  writes: Promise<void>;
}

export type StatusPatch = { status: SessionStatus; me?: SessionMe | null; desiredState?: DesiredState };

/**
 * What a close leaves in the row. A replaced connection is not fought over, and a session WhatsApp keeps
 * rejecting is not retried by the reconciler: both stay stopped until started again.
 */
export const AFTER_CLOSE: Record<Exclude<EngineCloseReason, 'stale_epoch'>, StatusPatch> = {
  stopped: { status: 'stopped' },
  failed: { status: 'failed', desiredState: 'stopped' },
  logged_out: { status: 'logged_out', me: null, desiredState: 'stopped' },
  qr_expired: { status: 'qr_expired', desiredState: 'stopped' },
  replaced: { status: 'failed', desiredState: 'stopped' },
};

/**
 * The session row's status as the runtime's engines move it, each change under the writer's lease epoch
 * and in one transaction with its `session.status` event: a row a newer owner holds is left alone, and
 * nothing is appended for it.
 */
@Injectable()
export class SessionStatusWrites {
  private readonly logger = new Logger(SessionStatusWrites.name);

  constructor(private readonly log: EventLog) {}

  /**
   * A start under `epoch`: `starting`, and the session desired running.
   * @returns whether the epoch still held the row
   */
  starting(sessionId: string, epoch: string): Promise<boolean> {
    return this.log.transact(async (manager, append) => {
      const [row]: { me: SessionMe | null }[] = await manager.query(
        `WITH started AS (
           UPDATE sessions SET status = 'starting', desired_state = 'running', updated_at = now() WHERE id = $1 AND lease_epoch = $2 RETURNING me)
         SELECT me FROM started`,
        [sessionId, epoch],
      );
      if (row) await append({ sessionId, epoch, type: 'session.status', data: { status: 'starting', me: row.me } });
      return row !== undefined;
    });
  }

  /**
   * Stores a status after the writer's earlier ones and appends its `session.status` event (then `also`,
   * when given) in the same transaction; the log publishes them after commit. Never throws: a failed
   * write is logged, and `writer.writes` settles once this one did.
   */
  record(writer: StatusWriter, patch: StatusPatch, reason?: string, also?: { type: 'session.qr'; data: SessionEventData['session.qr'] }): void {
    const { id } = writer.session;
    writer.writes = writer.writes
      .then(() =>
        this.log.transact(async (manager, append) => {
          // A CTE so the driver answers the returned rows, as for any SELECT.
          const [stored]: { me: SessionMe | null }[] = await manager.query(
            `WITH stored AS (
               UPDATE sessions SET status = $3,
                 me = CASE WHEN $4::boolean THEN $5::jsonb ELSE me END,
                 desired_state = COALESCE($6, desired_state), updated_at = now()
               WHERE id = $1 AND lease_epoch = $2 RETURNING me)
             SELECT me FROM stored`,
            [id, writer.epoch, patch.status, patch.me !== undefined, patch.me ? JSON.stringify(patch.me) : null, patch.desiredState ?? null],
          );
          if (!stored) return;
          const data = { status: patch.status, me: stored.me, ...(reason ? { reason } : {}) };
          await append({ sessionId: id, epoch: writer.epoch, type: 'session.status', data });
          if (also) await append({ sessionId: id, epoch: writer.epoch, ...also });
        }),
      )
      .catch((error: unknown) => this.logger.error({ err: error, sessionId: id, status: patch.status }, 'storing the session status failed'));
  }
}
