import type { CampaignProgressView } from '@wafleet/sessions';

export type CampaignStatus = CampaignProgressView['status'];
export type TemplateKind = 'text' | 'image' | 'video' | 'document';

/** The message a campaign sends, as stored: the text (caption for media) and the media's type and name. */
export interface StoredTemplate {
  kind: TemplateKind;
  text: string;
  media: { mimetype: string; fileName?: string } | null;
}

/** A `campaigns` row as the driver returns it (without the media bytes). */
export interface CampaignRow {
  id: string;
  tenant_id: string;
  session_id: string;
  name: string;
  status: CampaignStatus;
  reason: string | null;
  template: StoredTemplate;
  per_minute: number;
  jitter_percent: number;
  start_at: Date | null;
  total: number;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CAMPAIGN_COLUMNS = `id, tenant_id, session_id, name, status, reason, template, per_minute, jitter_percent, start_at, total, started_at, finished_at, created_at, updated_at`;

/** The counts of a campaign's recipients by where their message has got. */
export type CampaignProgress = Pick<CampaignProgressView, 'total' | 'sent' | 'delivered' | 'read' | 'failed' | 'pending'>;

/** A campaign as the API shows it. */
export interface CampaignView {
  id: string;
  name: string;
  sessionId: string;
  status: CampaignStatus;
  reason: string | null;
  template: StoredTemplate;
  perMinute: number;
  jitterPercent: number;
  startAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  progress: CampaignProgress;
  createdAt: string;
  updatedAt: string;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export const toCampaignView = (row: CampaignRow, progress: CampaignProgress): CampaignView => ({
  id: row.id,
  name: row.name,
  sessionId: row.session_id,
  status: row.status,
  reason: row.reason,
  template: row.template,
  perMinute: row.per_minute,
  jitterPercent: row.jitter_percent,
  startAt: iso(row.start_at),
  startedAt: iso(row.started_at),
  finishedAt: iso(row.finished_at),
  progress,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/** The data of a `campaign.*` event. */
export const toProgressEvent = (row: Pick<CampaignRow, 'id' | 'name' | 'status' | 'reason'>, progress: CampaignProgress): CampaignProgressView => ({
  campaignId: row.id,
  name: row.name,
  status: row.status,
  reason: row.reason,
  ...progress,
});

/** What a recipient has got to: not queued yet, queued (its message pending), or its message's status. */
export type RecipientState = 'pending' | 'queued' | 'sent' | 'delivered' | 'read' | 'failed';
export const RECIPIENT_STATES: readonly RecipientState[] = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed'];

export interface RecipientView {
  position: number;
  jid: string;
  variables: Record<string, string>;
  state: RecipientState;
  messageId: string | null;
  queuedAt: string | null;
}
