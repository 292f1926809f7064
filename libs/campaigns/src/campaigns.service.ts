import { Injectable } from '@nestjs/common';
import { Quotas } from '@wafleet/billing';
import { AppConfig } from '@wafleet/config';
import { createValidationPipe, isUuid, ValidationFailedError, type Page } from '@wafleet/core';
import { resolveMedia, type ResolvedMedia } from '@wafleet/messages';
import { SessionsService } from '@wafleet/sessions';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CampaignLog, type CampaignChange } from './campaign-log';
import { CampaignRunner } from './campaign-runner';
import { CampaignStore } from './campaign-store';
import { templateVariables } from './campaign-template';
import type { CampaignRow, CampaignStatus, CampaignView, RecipientState, RecipientView, StoredTemplate } from './campaign.view';
import { AddRecipientsDto, type CreateCampaignDto, type TemplateDto } from './campaigns.dto';
import { CampaignNotFoundError, CampaignStateError, CampaignWithoutRecipientsError, TooManyRecipientsError } from './campaigns.errors';
import { checkRecipients, parseRecipientCsv, type GivenRecipient, type InvalidRecipient, type RecipientReport } from './recipient-list';

const EDITABLE: readonly CampaignStatus[] = ['draft', 'scheduled'];

/** Each action: the statuses it starts from, what it changes to, and the code of its 409. */
const ACTIONS = {
  start: { from: ['draft', 'scheduled'], to: { status: 'running', started: true }, code: 'campaign_not_startable', verb: 'started' },
  pause: { from: ['running'], to: { status: 'paused' }, code: 'campaign_not_running', verb: 'paused' },
  resume: { from: ['paused'], to: { status: 'running' }, code: 'campaign_not_paused', verb: 'resumed' },
  cancel: { from: ['draft', 'scheduled', 'running', 'paused'], to: { status: 'cancelled', finished: true }, code: 'campaign_finished', verb: 'cancelled' },
} satisfies Record<string, { from: CampaignStatus[]; to: CampaignChange; code: string; verb: string }>;

export type CampaignAction = keyof typeof ACTIONS;

/** A campaign with what became of the recipients given with the request. */
export type CampaignWithReport = CampaignView & { report: RecipientReport };

/**
 * Campaigns of a tenant, from any replica. Every status change is one conditional UPDATE (so two
 * replicas racing to start a campaign start it once; the other gets 409), told to all replicas so the
 * one that runs it (CampaignRunner, on the session's owner) reacts at once.
 */
@Injectable()
export class CampaignsService {
  private readonly validation = createValidationPipe();

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly store: CampaignStore,
    private readonly campaignLog: CampaignLog,
    private readonly runner: CampaignRunner,
    private readonly quotas: Quotas,
  ) {}

  async create(tenantId: string, dto: CreateCampaignDto): Promise<CampaignWithReport> {
    const session = await this.sessions.get(tenantId, dto.session);
    const { template, media } = await this.template(dto.template);
    const given = (dto.recipients ?? []).map((recipient, row) => ({ row, phone: recipient.phone, variables: recipient.variables ?? {} }));
    this.checkCount(given.length);
    const checked = checkRecipients(given, templateVariables(template.text));
    const id = randomUUID();
    const accepted = await this.store.insert(
      {
        id,
        tenantId,
        sessionId: session.id,
        name: dto.name,
        status: dto.startAt ? 'scheduled' : 'draft',
        template,
        mediaData: media?.data ?? null,
        perMinute: dto.perMinute,
        jitterPercent: dto.jitterPercent ?? 0,
        startAt: dto.startAt ? new Date(dto.startAt) : null,
      },
      checked.recipients,
    );
    const view = await this.store.view((await this.store.find(tenantId, id))!);
    return { ...view, report: { accepted, duplicates: checked.duplicates + checked.recipients.length - accepted, invalid: checked.invalid } };
  }

  /** Adds recipients from a CSV text or a JSON body, while the campaign is draft or scheduled. */
  async addRecipients(tenantId: string, id: string, body: string | unknown): Promise<CampaignWithReport> {
    const row = await this.found(tenantId, id);
    let given: GivenRecipient[];
    let unreadable: InvalidRecipient[] = [];
    if (typeof body === 'string') {
      ({ given, invalid: unreadable } = parseRecipientCsv(body));
    } else {
      const dto = (await this.validation.transform(body ?? {}, { type: 'body', metatype: AddRecipientsDto })) as AddRecipientsDto;
      given = dto.recipients.map((recipient, index) => ({ row: index, phone: recipient.phone, variables: recipient.variables ?? {} }));
    }
    const checked = checkRecipients(given, templateVariables(row.template.text));
    const added = await this.store.addRecipients(tenantId, id, checked.recipients, EDITABLE, (total) => this.checkCount(total));
    if (!added) throw new CampaignNotFoundError(id);
    if (added.added === undefined) throw new CampaignStateError('campaign_not_editable', 'given recipients', added.status, EDITABLE);
    const view = await this.store.view((await this.store.find(tenantId, id))!);
    return { ...view, report: { accepted: added.added, duplicates: checked.duplicates + checked.recipients.length - added.added, invalid: [...unreadable, ...checked.invalid] } };
  }

  async act(tenantId: string, id: string, action: CampaignAction): Promise<CampaignView> {
    const { from, to, code, verb } = ACTIONS[action];
    const current = await this.found(tenantId, id);
    if (action === 'start' && current.total === 0) throw new CampaignWithoutRecipientsError();
    // Starting or resuming makes one more running campaign: the plan's limit is checked in the same
    // transaction, under a lock on the tenant's row, so racing replicas cannot go past it.
    const countsAsRunning = to.status === 'running';
    const changed = await this.campaignLog.change(tenantId, id, from, to, undefined, countsAsRunning ? (manager) => this.withinRunningLimit(manager, tenantId) : undefined);
    if (!changed) {
      const now = await this.found(tenantId, id);
      throw new CampaignStateError(code, verb, now.status, from);
    }
    this.runner.announce(changed.id, changed.session_id);
    return this.store.view(changed);
  }

  private withinRunningLimit(manager: EntityManager, tenantId: string): Promise<void> {
    return this.quotas.withinPlanLimit(manager, tenantId, 'maxRunningCampaigns', async () => {
      const [row]: { n: number }[] = await manager.query(`SELECT count(*)::int AS n FROM campaigns WHERE tenant_id = $1 AND status = 'running'`, [tenantId]);
      return row?.n ?? 0;
    });
  }

  async get(tenantId: string, id: string): Promise<CampaignView> {
    return this.store.view(await this.found(tenantId, id));
  }

  list(tenantId: string, limit: number, cursor?: string): Promise<Page<CampaignView>> {
    return this.store.list(tenantId, limit, cursor);
  }

  async recipients(tenantId: string, id: string, state: RecipientState | undefined, limit: number, cursor?: string): Promise<Page<RecipientView>> {
    await this.found(tenantId, id);
    return this.store.recipients(id, state, limit, cursor);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    const result = isUuid(id) ? await this.store.delete(tenantId, id, ['running']) : undefined;
    if (!result) throw new CampaignNotFoundError(id);
    if (!result.deleted) throw new CampaignStateError('campaign_running', 'deleted', result.status, ['draft', 'scheduled', 'paused', 'completed', 'cancelled', 'stopped']);
  }

  private async template(dto: TemplateDto): Promise<{ template: StoredTemplate; media?: ResolvedMedia }> {
    const kind = dto.kind ?? (dto.media ? 'image' : 'text');
    if (kind === 'text') {
      if (dto.media) throw invalid('template.media', 'template.media needs template.kind image, video or document');
      return { template: { kind, text: dto.text, media: null } };
    }
    if (!dto.media) throw invalid('template.media', `template.media is required for kind ${kind}`);
    const media = await resolveMedia(kind, dto.media, { maxBytes: this.config.messages.mediaMaxBytes, allowPrivate: this.config.messages.mediaUrlAllowPrivate });
    const fileName = media.fileName ?? dto.media.fileName;
    return { template: { kind, text: dto.text, media: { mimetype: media.mimetype, ...(fileName ? { fileName } : {}) } }, media };
  }

  private checkCount(total: number): void {
    if (total > this.config.campaigns.maxRecipients) throw new TooManyRecipientsError(this.config.campaigns.maxRecipients, total);
  }

  private async found(tenantId: string, id: string): Promise<CampaignRow> {
    const row = isUuid(id) ? await this.store.find(tenantId, id) : undefined;
    if (!row) throw new CampaignNotFoundError(id);
    return row;
  }
}

const invalid = (field: string, problem: string) => new ValidationFailedError([{ field, problems: [problem] }]);
