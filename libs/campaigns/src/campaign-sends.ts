import { Injectable } from '@nestjs/common';
import { newMessageId } from '@wafleet/engines';
import { insertOutgoingRow, newOutgoingId } from '@wafleet/messages';
import type { RunningEngine } from '@wafleet/sessions';
import { DataSource } from 'typeorm';
import { renderTemplate } from './campaign-template';
import type { CampaignStatus, StoredTemplate } from './campaign.view';

/**
 * What came of asking for the next message: `queued` (its message id), `busy` (the previous one is still
 * pending), `done` (every recipient has one), `not_running` (paused, cancelled, stopped, gone) or `stale`
 * (this replica no longer holds the session's lease).
 */
export type EnqueueOutcome = { outcome: 'queued'; messageId: string } | { outcome: 'busy' | 'done' | 'not_running' | 'stale' };

/** Where a campaign stands for its runner, read without locks. */
export interface CampaignState {
  status: CampaignStatus;
  tenantId: string;
  perMinute: number;
  jitterPercent: number;
  /** The previous message is still waiting to be sent. */
  busy: boolean;
  /** Some recipient has no message yet. */
  remaining: boolean;
}

/** The runner's reads and writes: which campaigns to run, and queueing their messages one at a time. */
@Injectable()
export class CampaignSends {
  constructor(private readonly dataSource: DataSource) {}

  /** Running campaigns of the given sessions. */
  async runnable(sessionIds: string[]): Promise<{ id: string; session_id: string }[]> {
    if (sessionIds.length === 0) return [];
    return this.dataSource.query(`SELECT id, session_id FROM campaigns WHERE status = 'running' AND session_id = ANY($1::uuid[])`, [sessionIds]);
  }

  async state(id: string): Promise<CampaignState | undefined> {
    const [row]: { status: CampaignStatus; tenant_id: string; per_minute: number; jitter_percent: number; busy: boolean; remaining: boolean }[] = await this.dataSource.query(
      `SELECT c.status, c.tenant_id, c.per_minute, c.jitter_percent,
         EXISTS (SELECT 1 FROM messages WHERE id = c.current_message_id AND status = 'pending') AS busy,
         EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = c.id AND message_id IS NULL) AS remaining
       FROM campaigns c WHERE c.id = $1`,
      [id],
    );
    return row && { status: row.status, tenantId: row.tenant_id, perMinute: row.per_minute, jitterPercent: row.jitter_percent, busy: row.busy, remaining: row.remaining };
  }

  /**
   * Queues the message of the campaign's next recipient, in one transaction that writes the pending
   * message row (with its WhatsApp id fixed) and gives the recipient that message's id, so no recipient
   * is ever given a second one. The campaign row is locked first, so a cancel or pause either comes
   * before (nothing is queued) or after (it fails what was queued); then fenced: the session row is read
   * under a share lock at the runner's epoch, so a replica whose lease moved on queues nothing.
   */
  async enqueueNext(running: RunningEngine, id: string): Promise<EnqueueOutcome> {
    return this.dataSource.transaction(async (manager) => {
      // The campaign row before the session row, in the order CampaignLog.change and complete take them:
      // a status change holds the campaign row while it locks the session row for its event, so taking
      // the session row first here deadlocks with a pause or cancel made on another replica.
      // Locked first, read after: under READ COMMITTED the statement after the lock wait sees what the
      // previous holder committed (its message, pending), so a racing caller finds the campaign busy.
      const [locked]: unknown[] = await manager.query(`SELECT 1 FROM campaigns WHERE id = $1 AND session_id = $2 FOR UPDATE`, [id, running.sessionId]);
      if (!locked) return { outcome: 'not_running' };
      // Not once logged out (the epoch holds until the engine's close is stored): what it queued then would
      // wait for the next link, and that may be another account's.
      const [lease]: unknown[] = await manager.query(`SELECT 1 FROM sessions WHERE id = $1 AND lease_epoch = $2 AND status <> 'logged_out' FOR SHARE`, [
        running.sessionId,
        running.epoch,
      ]);
      if (!lease) return { outcome: 'stale' };
      const [campaign]: { status: CampaignStatus; tenant_id: string; template: StoredTemplate; has_media: boolean; busy: boolean }[] = await manager.query(
        `SELECT c.status, c.tenant_id, c.template, c.media_data IS NOT NULL AS has_media,
           EXISTS (SELECT 1 FROM messages WHERE id = c.current_message_id AND status = 'pending') AS busy
         FROM campaigns c WHERE c.id = $1`,
        [id],
      );
      if (!campaign || campaign.status !== 'running') return { outcome: 'not_running' };
      if (campaign.busy) return { outcome: 'busy' };
      const [next]: { position: number; jid: string; variables: Record<string, string> }[] = await manager.query(
        `SELECT position, jid, variables FROM campaign_recipients WHERE campaign_id = $1 AND message_id IS NULL ORDER BY position LIMIT 1`,
        [id],
      );
      if (!next) return { outcome: 'done' };
      const template = campaign.template;
      const messageId = newOutgoingId();
      const text = renderTemplate(template.text, next.variables);
      await insertOutgoingRow(manager, {
        id: messageId,
        tenantId: campaign.tenant_id,
        sessionId: running.sessionId,
        waId: newMessageId(),
        chat: next.jid,
        kind: template.kind,
        body: text || (template.kind === 'text' ? '' : null),
        content: template.media ? { ...template.media, ...(template.kind === 'document' ? { fileName: template.media.fileName ?? 'file' } : {}) } : {},
        quotedId: null,
        idempotencyKey: null,
        requestHash: null,
        upload: null,
        // A campaign may be started before its session is linked: its message goes out from the link it gets.
        waitsForLink: true,
      });
      if (campaign.has_media) await manager.query(`INSERT INTO message_uploads (message_id, data) SELECT $1, media_data FROM campaigns WHERE id = $2`, [messageId, id]);
      await manager.query(`UPDATE campaign_recipients SET message_id = $3, queued_at = now() WHERE campaign_id = $1 AND position = $2`, [id, next.position, messageId]);
      await manager.query(`UPDATE campaigns SET current_message_id = $2 WHERE id = $1`, [id, messageId]);
      return { outcome: 'queued', messageId };
    });
  }
}
