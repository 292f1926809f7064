import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { withoutNul } from '@wafleet/core';
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

/** A committed status write that changed the account the session is linked to: a logout, or a pairing. */
export interface LinkChange {
  sessionId: string;
  /** The epoch the write held. */
  epoch: string;
  /** The account linked now; null once logged out. */
  me: SessionMe | null;
  /** The account it was linked to before; null at a first pairing (or one after a logout). */
  previous: SessionMe | null;
}

/** How often a link listener is tried before its failure is only logged, and the pause before each retry. */
const LISTENER_ATTEMPTS = 3;
const LISTENER_RETRY_MS = 200;

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
  private readonly linkListeners: ((change: LinkChange) => Promise<void>)[] = [];

  constructor(private readonly log: EventLog) {}

  /**
   * `listener` is told of every status write that changed the linked account, once it committed, before
   * the writer's next write (a close's final status: before the session can be started again). One that
   * throws is tried again, then logged. It must not wait for the writer's writes: they wait for it.
   */
  onLinkChanged(listener: (change: LinkChange) => Promise<void>): void {
    this.linkListeners.push(listener);
  }

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
   * when given) in the same transaction; the log publishes them after commit. When it changed the linked
   * account, the link listeners are told next. Never throws: a failed write is logged, and
   * `writer.writes` settles once this one (and the listeners) did.
   */
  record(writer: StatusWriter, patch: StatusPatch, reason?: string, also?: { type: 'session.qr'; data: SessionEventData['session.qr'] }): void {
    const { id } = writer.session;
    writer.writes = writer.writes
      .then(async () => {
        const change = await this.log.transact(async (manager, append): Promise<LinkChange | undefined> => {
          // Locked as the write below locks it, so the account it held is read as that write finds it.
          const [prior]: { me: SessionMe | null }[] = await manager.query(`SELECT me FROM sessions WHERE id = $1 AND lease_epoch = $2 FOR NO KEY UPDATE`, [
            id,
            writer.epoch,
          ]);
          if (!prior) return undefined;
          // A CTE so the driver answers the returned rows, as for any SELECT. `me` without NUL: the push name
          // is WhatsApp's to choose, and one PostgreSQL cannot store must not keep the session from `working`.
          const [stored]: { me: SessionMe | null }[] = await manager.query(
            `WITH stored AS (
               UPDATE sessions SET status = $3,
                 me = CASE WHEN $4::boolean THEN $5::jsonb ELSE me END,
                 desired_state = COALESCE($6, desired_state), updated_at = now()
               WHERE id = $1 AND lease_epoch = $2 RETURNING me)
             SELECT me FROM stored`,
            [id, writer.epoch, patch.status, patch.me !== undefined, patch.me ? JSON.stringify(withoutNul(patch.me)) : null, patch.desiredState ?? null],
          );
          if (!stored) return undefined;
          const data = { status: patch.status, me: stored.me, ...(reason ? { reason } : {}) };
          await append({ sessionId: id, epoch: writer.epoch, type: 'session.status', data });
          if (also) await append({ sessionId: id, epoch: writer.epoch, ...also });
          return (prior.me?.id ?? null) === (stored.me?.id ?? null) ? undefined : { sessionId: id, epoch: writer.epoch, me: stored.me, previous: prior.me };
        });
        if (change) await this.tellLinkChanged(change);
      })
      .catch((error: unknown) => this.logger.error({ err: error, sessionId: id, status: patch.status }, 'storing the session status failed'));
  }

  /** Each listener in turn; one that throws (a deadlock the database broke, say) is tried again. */
  private async tellLinkChanged(change: LinkChange): Promise<void> {
    for (const listener of this.linkListeners) {
      for (let attempt = 1; ; attempt++) {
        try {
          await listener(change);
          break;
        } catch (error) {
          if (attempt < LISTENER_ATTEMPTS) {
            await sleep(LISTENER_RETRY_MS * attempt);
            continue;
          }
          this.logger.error({ err: error, sessionId: change.sessionId }, 'acting on a change of the linked account failed');
          break;
        }
      }
    }
  }
}
