import { Module } from '@nestjs/common';
import { BillingModule } from '@wafleet/billing';
import { MessagesModule } from '@wafleet/messages';
import { SessionsModule } from '@wafleet/sessions';
import { CampaignLog } from './campaign-log';
import { CampaignQuota } from './campaign-quota';
import { CampaignRunner } from './campaign-runner';
import { CampaignSends } from './campaign-sends';
import { CampaignStore } from './campaign-store';
import { CampaignsController } from './campaigns.controller';
import { CampaignsService } from './campaigns.service';

/** Bulk sends through a session: created and steered from any replica, run once on the session's owner. */
@Module({
  imports: [SessionsModule, MessagesModule, BillingModule],
  controllers: [CampaignsController],
  providers: [CampaignStore, CampaignSends, CampaignLog, CampaignQuota, CampaignRunner, CampaignsService],
  exports: [CampaignsService, CampaignQuota],
})
export class CampaignsModule {}
