import { Injectable } from '@nestjs/common';
import { WITHDRAWN_CODE } from '@wafleet/messages';
import { EventLog, type Append, type RunningEngine } from '@wafleet/sessions';
import { DataSource, type EntityManager } from 'typeorm';
import { progressOf } from './campaign-store';
import { CAMPAIGN_COLUMNS, toProgressEvent, type CampaignRow, type CampaignStatus } from './campaign.view';

type CampaignEventType = 'campaign.progress' | 'campaign.completed' | 'campaign.failed';

/** A status change: the new status, and the timestamps and reason that go with it. */
export interface CampaignChange {
  status: CampaignStatus;
  reason?: string;
  started?: boolean;
  finished?: boolean;
}

/** Rolls a transaction back when the owner's epoch moved on. */
class LeaseMovedOn extends Error {}

/**
 * Campaign status changes and the `campaign.*` events that tell of them, each in one transaction with
 * its event in the session's log. A change asked for on any replica (start, pause, cancel, a stop
 * because the session went away) is appended under the session's current epoch, read under the
 * session row's lock; what the runner on the owner writes (progress, completion) is fenced on the epoch
 * it runs under, so a replica that lost the session writes nothing.
 */
@Injectable()
export class CampaignLog {
  constructor(
    private readonly log: EventLog,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * Moves the campaign from one of `from` to `change.status` with a `type` event, from any replica.
   * Cancelling also fails the campaign's message still waiting to be sent, so nothing more goes out.
   * @returns the changed row, or undefined when its status was not one of `from` (or it is not the tenant's)
   */
  async change(
    tenantId: string | null,
    id: string,
    from: readonly CampaignStatus[],
    change: CampaignChange,
    type: CampaignEventType = 'campaign.progress',
    /** Runs first in the same transaction (a plan limit check); throwing rolls the change back. */
    check?: (manager: EntityManager) => Promise<void>,
  ): Promise<CampaignRow | undefined> {
    return this.log.transact(async (manager, append) => {
      await check?.(manager);
      const [row]: CampaignRow[] = await manager.query(
        `WITH changed AS (
           UPDATE campaigns SET status = $3, reason = $4, updated_at = now(),
             started_at = CASE WHEN $5 THEN COALESCE(started_at, now()) ELSE started_at END,
             finished_at = CASE WHEN $6 THEN now() ELSE finished_at END
           WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) AND status = ANY($7::text[]) RETURNING ${CAMPAIGN_COLUMNS})
         SELECT * FROM changed`,
        [id, tenantId, change.status, change.reason ?? null, change.started ?? false, change.finished ?? false, from],
      );
      if (!row) return undefined;
      if (change.status === 'cancelled') {
        await manager.query(
          `UPDATE messages SET status = 'failed', error = $2::jsonb, updated_at = now()
           WHERE id = (SELECT current_message_id FROM campaigns WHERE id = $1) AND status = 'pending'`,
          [id, JSON.stringify({ code: WITHDRAWN_CODE, message: 'The campaign was cancelled before this message was sent.' })],
        );
      }
      const [session]: { lease_epoch: string }[] = await manager.query(`SELECT lease_epoch FROM sessions WHERE id = $1 FOR UPDATE`, [row.session_id]);
      await this.appendProgress(manager, append, row, session!.lease_epoch, type);
      return row;
    });
  }

  /** A `campaign.progress` event from the runner. @returns false when its epoch moved on */
  async progress(running: RunningEngine, id: string): Promise<boolean> {
    return this.asOwner(running, async (manager, append) => {
      const [row]: CampaignRow[] = await manager.query(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1`, [id]);
      return !row || this.appendProgress(manager, append, row, running.epoch, 'campaign.progress');
    });
  }

  /**
   * Completes a running campaign once every recipient has a message and none is waiting to be sent, with
   * a last `campaign.progress` and `campaign.completed`.
   * @returns whether it completed now
   */
  async complete(running: RunningEngine, id: string): Promise<boolean> {
    return this.asOwner(running, async (manager, append) => {
      const [row]: CampaignRow[] = await manager.query(
        `WITH done AS (
           UPDATE campaigns c SET status = 'completed', finished_at = now(), updated_at = now()
           WHERE id = $1 AND status = 'running'
             AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND message_id IS NULL)
             AND NOT EXISTS (SELECT 1 FROM messages WHERE id = c.current_message_id AND status = 'pending')
           RETURNING ${CAMPAIGN_COLUMNS})
         SELECT * FROM done`,
        [id],
      );
      if (!row) return false;
      await this.appendProgress(manager, append, row, running.epoch, 'campaign.progress');
      return this.appendProgress(manager, append, row, running.epoch, 'campaign.completed');
    });
  }

  /** Starts scheduled campaigns whose time has come. @returns their ids and sessions */
  async startDue(): Promise<{ id: string; session_id: string }[]> {
    return this.sweep(`status = 'scheduled' AND start_at <= now()`, [], { status: 'running', started: true });
  }

  /**
   * Stops running or paused campaigns whose session was logged out (reason `session_logged_out`) or
   * stopped (`session_stopped`): nobody would send their messages.
   */
  async stopOrphaned(): Promise<{ id: string; session_id: string }[]> {
    const stopped = await this.sweep(
      `status IN ('running', 'paused') AND session_id IN (SELECT id FROM sessions WHERE status = 'logged_out')`,
      [],
      { status: 'stopped', reason: 'session_logged_out', finished: true },
      'campaign.failed',
    );
    const idle = await this.sweep(
      `status IN ('running', 'paused') AND session_id IN (SELECT id FROM sessions WHERE desired_state = 'stopped')`,
      [],
      { status: 'stopped', reason: 'session_stopped', finished: true },
      'campaign.failed',
    );
    return [...stopped, ...idle];
  }

  /**
   * Stops the session's running or paused campaigns once the account they ran under is no longer linked
   * (reason `session_logged_out`), before it can be started and linked again.
   */
  async stopLoggedOut(sessionId: string): Promise<{ id: string; session_id: string }[]> {
    return this.sweep(`status IN ('running', 'paused') AND session_id = $1`, [sessionId], { status: 'stopped', reason: 'session_logged_out', finished: true }, 'campaign.failed');
  }

  private async sweep(where: string, params: unknown[], change: CampaignChange, type?: CampaignEventType): Promise<{ id: string; session_id: string }[]> {
    const due: { id: string; session_id: string; status: CampaignStatus }[] = await this.dataSource.query(`SELECT id, session_id, status FROM campaigns WHERE ${where} LIMIT 100`, params);
    const changed: { id: string; session_id: string }[] = [];
    for (const campaign of due) {
      if (await this.change(null, campaign.id, [campaign.status], change, type)) changed.push({ id: campaign.id, session_id: campaign.session_id });
    }
    return changed;
  }

  private async appendProgress(manager: EntityManager, append: Append, row: CampaignRow, epoch: string, type: CampaignEventType): Promise<boolean> {
    const progress = (await progressOf(manager, [row.id])).get(row.id)!;
    return (await append({ sessionId: row.session_id, epoch, type, data: toProgressEvent(row, progress) })) !== null;
  }

  private async asOwner(running: RunningEngine, work: (manager: EntityManager, append: Append) => Promise<boolean>): Promise<boolean> {
    try {
      return await this.log.transact(async (manager, append) => {
        if (!(await work(manager, append))) throw new LeaseMovedOn();
        return true;
      });
    } catch (error) {
      if (error instanceof LeaseMovedOn) return false;
      throw error;
    }
  }
}
