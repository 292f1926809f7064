import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CallerTenant, TenantOnly } from '@wafleet/auth';
import { ListQueryDto } from '@wafleet/core';
import { AddRecipientsDto, CreateCampaignDto, ListRecipientsQueryDto } from './campaigns.dto';
import { CampaignsService, type CampaignAction } from './campaigns.service';

@ApiTags('campaigns')
@ApiSecurity('api-key')
@TenantOnly()
@Controller('campaigns')
export class CampaignsController {
  constructor(private readonly campaigns: CampaignsService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a campaign: a session, a template with {{variables}}, recipients, a pace and an optional start time.',
    description: 'Answers the campaign (`draft`, or `scheduled` with `startAt`) and a report on the recipients given: how many were accepted, how many were duplicates (by JID), and each invalid one with its index and the problem.',
  })
  @ApiCreatedResponse({ description: 'The campaign, with `report`.' })
  create(@CallerTenant() tenantId: string, @Body() body: CreateCampaignDto) {
    return this.campaigns.create(tenantId, body);
  }

  @Get()
  @ApiOperation({ summary: 'Campaigns of the tenant, newest first, with their progress.' })
  list(@CallerTenant() tenantId: string, @Query() query: ListQueryDto) {
    return this.campaigns.list(tenantId, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One campaign with its progress: total, sent, delivered, read, failed, pending.' })
  get(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.campaigns.get(tenantId, id);
  }

  @Post(':id/recipients')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Add recipients while the campaign is draft or scheduled: JSON, or a CSV upload (Content-Type: text/csv).',
    description: 'A CSV has a header row with a `phone` column and one column per template variable; `row` in the report is the line number (the header is line 1). Duplicates (by JID, also of recipients already there) are dropped and counted.',
  })
  @ApiConsumes('application/json', 'text/csv')
  @ApiBody({ type: AddRecipientsDto })
  @ApiOkResponse({ description: 'The campaign, with `report`.' })
  addRecipients(@CallerTenant() tenantId: string, @Param('id') id: string, @Body() body: unknown) {
    return this.campaigns.addRecipients(tenantId, id, body);
  }

  @Get(':id/recipients')
  @ApiOperation({ summary: "The campaign's recipients in order, each with its state and message id; `state` narrows." })
  recipients(@CallerTenant() tenantId: string, @Param('id') id: string, @Query() query: ListRecipientsQueryDto) {
    return this.campaigns.recipients(tenantId, id, query.state, query.limit, query.cursor);
  }

  @Post(':id/start')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start a draft or scheduled campaign now. Of two concurrent starts one succeeds; the other gets 409 campaign_not_startable.' })
  start(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.act(tenantId, id, 'start');
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a running campaign; no message is queued after this answers.' })
  pause(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.act(tenantId, id, 'pause');
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused campaign where it stopped.' })
  resume(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.act(tenantId, id, 'resume');
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel the campaign for good; its message still waiting to be sent is failed, so nothing more goes out.' })
  cancel(@CallerTenant() tenantId: string, @Param('id') id: string) {
    return this.act(tenantId, id, 'cancel');
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a campaign that is not running (pause or cancel it first).' })
  @ApiNoContentResponse()
  async delete(@CallerTenant() tenantId: string, @Param('id') id: string) {
    await this.campaigns.delete(tenantId, id);
  }

  private act(tenantId: string, id: string, action: CampaignAction) {
    return this.campaigns.act(tenantId, id, action);
  }
}
