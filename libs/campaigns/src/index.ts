export { CampaignsModule } from './campaigns.module';
export { CampaignsService } from './campaigns.service';
export { CampaignQuota } from './campaign-quota';
export type { QuotaAnswer } from './campaign-quota';
export { acceptCsvUploads } from './csv-body';
export type { CampaignView, CampaignProgress, CampaignStatus, RecipientView, RecipientState } from './campaign.view';
