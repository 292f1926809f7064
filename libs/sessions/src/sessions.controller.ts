import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { CallerTenant, TenantOnly } from '@wafleet/auth';
import { ListQueryDto } from '@wafleet/core';
import QRCode from 'qrcode';
import {
  CreateSessionDto,
  PairingCodeDto,
  PairingCodeResponse,
  QrQueryDto,
  QrResponse,
  SessionEventPageResponse,
  SessionEventsQueryDto,
  SessionPageResponse,
  SessionResponse,
} from './sessions.dto';
import { SessionsService } from './sessions.service';

/** The part of Fastify's reply this controller touches. */
interface Reply {
  header(name: string, value: string): unknown;
}

@ApiTags('sessions')
@ApiSecurity('api-key')
@TenantOnly()
@Controller('sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a session (stopped; start it to link a phone).' })
  @ApiCreatedResponse({ type: SessionResponse })
  create(@CallerTenant() tenantId: string, @Body() body: CreateSessionDto) {
    return this.sessions.create(tenantId, body.name, body.metadata);
  }

  @Get()
  @ApiOperation({ summary: "List the tenant's sessions." })
  @ApiOkResponse({ type: SessionPageResponse })
  list(@CallerTenant() tenantId: string, @Query() query: ListQueryDto) {
    return this.sessions.list(tenantId, query.limit, query.cursor);
  }

  @Get(':session')
  @ApiOperation({ summary: 'Get a session by id or name.' })
  @ApiOkResponse({ type: SessionResponse })
  get(@CallerTenant() tenantId: string, @Param('session') session: string) {
    return this.sessions.get(tenantId, session);
  }

  @Get(':session/events')
  @ApiOperation({ summary: "The session's event log after a sequence number, oldest first (replay what a client missed)." })
  @ApiOkResponse({ type: SessionEventPageResponse })
  events(@CallerTenant() tenantId: string, @Param('session') session: string, @Query() query: SessionEventsQueryDto) {
    return this.sessions.events(tenantId, session, query.after, query.limit, query.cursor);
  }

  @Delete(':session')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a session: logs it out first when connected, and wipes its auth state.' })
  @ApiNoContentResponse()
  async delete(@CallerTenant() tenantId: string, @Param('session') session: string) {
    await this.sessions.delete(tenantId, session);
  }

  @Post(':session/start')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start the session; it connects in the background (status starting → scan_qr or working).' })
  @ApiAcceptedResponse({ type: SessionResponse })
  start(@CallerTenant() tenantId: string, @Param('session') session: string) {
    return this.sessions.start(tenantId, session);
  }

  @Post(':session/stop')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop the session and keep it stopped across restarts; the phone stays linked.' })
  @ApiOkResponse({ type: SessionResponse })
  stop(@CallerTenant() tenantId: string, @Param('session') session: string) {
    return this.sessions.stop(tenantId, session);
  }

  @Post(':session/restart')
  @HttpCode(202)
  @ApiOperation({ summary: 'Stop and start the session again.' })
  @ApiAcceptedResponse({ type: SessionResponse })
  restart(@CallerTenant() tenantId: string, @Param('session') session: string) {
    return this.sessions.restart(tenantId, session);
  }

  @Post(':session/logout')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlink the device from the phone and wipe the auth state (status logged_out).' })
  @ApiOkResponse({ type: SessionResponse })
  logout(@CallerTenant() tenantId: string, @Param('session') session: string) {
    return this.sessions.logout(tenantId, session);
  }

  @Get(':session/qr')
  @ApiOperation({ summary: 'The QR to scan while the session is in scan_qr: a PNG, or the raw string with format=raw.' })
  @ApiProduces('image/png', 'application/json')
  @ApiOkResponse({ type: QrResponse, description: 'format=raw; the default answers image/png.' })
  async qr(
    @CallerTenant() tenantId: string,
    @Param('session') session: string,
    @Query() query: QrQueryDto,
    @Res({ passthrough: true }) reply: Reply,
  ) {
    const qr = await this.sessions.qr(tenantId, session);
    if (query.format === 'raw') return { qr };
    reply.header('content-type', 'image/png');
    reply.header('cache-control', 'no-store');
    return QRCode.toBuffer(qr, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 });
  }

  @Post(':session/pairing-code')
  @HttpCode(200)
  @ApiOperation({ summary: 'Ask for a code to link the phone by number instead of scanning (session in scan_qr or starting).' })
  @ApiOkResponse({ type: PairingCodeResponse })
  pairingCode(@CallerTenant() tenantId: string, @Param('session') session: string, @Body() body: PairingCodeDto) {
    return this.sessions.pairingCode(tenantId, session, body.phone);
  }
}
