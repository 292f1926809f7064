import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '@wafleet/auth';
import { ListQueryDto } from '@wafleet/core';
import { ClusterResponse } from './cluster.dto';
import { ClusterService } from './cluster.service';

@ApiTags('cluster')
@ApiSecurity('api-key')
@AdminOnly()
@Controller('cluster')
export class ClusterController {
  constructor(private readonly cluster: ClusterService) {}

  @Get()
  @ApiOperation({
    summary: 'Live instances and who owns which session, with the last handoffs (admin). `limit`/`cursor` page the sessions; instances come whole on every page.',
  })
  @ApiOkResponse({ type: ClusterResponse })
  view(@Query() query: ListQueryDto) {
    return this.cluster.view(query.limit, query.cursor);
  }
}
