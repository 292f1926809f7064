import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { CallerTenant, TenantOnly } from '@wafleet/auth';
import { ListQueryDto, ValidationFailedError } from '@wafleet/core';
import { EditMessageDto, ListMessagesQueryDto, PresenceDto, SendMessageDto, SendQueryDto } from './messages.dto';
import { MessagesService } from './messages.service';

/** The part of Fastify's reply this controller touches. */
interface Reply {
  code(status: number): unknown;
  header(name: string, value: string): unknown;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('messages')
@ApiSecurity('api-key')
@TenantOnly()
@Controller('sessions/:session')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post('messages')
  @ApiOperation({
    summary: 'Send a message (text, media, location, contact, reaction; replies and mentions).',
    description:
      "202 once stored (status pending): the session's owner sends it from its queue, in order, also after a failover. With `wait`, 201 once that status is reached (or the message failed), 202 when the timeout came first. With `Idempotency-Key`, a retry within 24 h on any replica answers what the first request answered and sends nothing again.",
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 255 printable characters.' })
  @ApiCreatedResponse({ description: 'The message, at the status waited for.' })
  @ApiAcceptedResponse({ description: 'The message, queued (or short of the status waited for).' })
  async send(
    @CallerTenant() tenantId: string,
    @Param('session') session: string,
    @Body() body: SendMessageDto,
    @Query() query: SendQueryDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: Reply,
  ) {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ValidationFailedError([{ field: 'Idempotency-Key', problems: ['Idempotency-Key must be 1 to 255 printable ASCII characters'] }]);
    }
    const answer = await this.messages.send(tenantId, session, body, { idempotencyKey, wait: query.wait, timeoutMs: query.timeout });
    reply.code(answer.httpStatus);
    return answer.body;
  }

  @Get('messages')
  @ApiOperation({ summary: 'Messages of the session, newest first; `chat` narrows to one chat.' })
  list(@CallerTenant() tenantId: string, @Param('session') session: string, @Query() query: ListMessagesQueryDto) {
    return this.messages.list(tenantId, session, query.chat, query.limit, query.cursor);
  }

  @Get('messages/:message')
  @ApiOperation({ summary: 'One message, by its id or its WhatsApp id.' })
  get(@CallerTenant() tenantId: string, @Param('session') session: string, @Param('message') message: string) {
    return this.messages.get(tenantId, session, message);
  }

  @Get('messages/:message/media')
  @ApiOperation({ summary: "The message's media file, fetched from WhatsApp and decrypted." })
  @ApiProduces('application/octet-stream')
  async media(@CallerTenant() tenantId: string, @Param('session') session: string, @Param('message') message: string, @Res({ passthrough: true }) reply: Reply) {
    const media = await this.messages.media(tenantId, session, message);
    reply.header('content-type', media.mimetype);
    reply.header('content-length', String(media.data.length));
    if (media.fileName) reply.header('content-disposition', `attachment; filename="${media.fileName.replace(/["\\\r\n]/g, '_')}"`);
    return media.data;
  }

  @Post('messages/:message/edit')
  @HttpCode(200)
  @ApiOperation({ summary: 'Edit the text or caption of a message this account sent.' })
  @ApiOkResponse({ description: 'The message, edited.' })
  edit(@CallerTenant() tenantId: string, @Param('session') session: string, @Param('message') message: string, @Body() body: EditMessageDto) {
    return this.messages.edit(tenantId, session, message, body.text);
  }

  @Delete('messages/:message')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a message this account sent, for everyone.' })
  @ApiNoContentResponse()
  async delete(@CallerTenant() tenantId: string, @Param('session') session: string, @Param('message') message: string) {
    await this.messages.delete(tenantId, session, message);
  }

  @Get('chats')
  @ApiOperation({ summary: 'Chats of the session, most recent first, with unread counts.' })
  chats(@CallerTenant() tenantId: string, @Param('session') session: string, @Query() query: ListQueryDto) {
    return this.messages.chats(tenantId, session, query.limit, query.cursor);
  }

  @Post('chats/:chat/read')
  @HttpCode(200)
  @ApiOperation({ summary: "Mark the chat read: read receipts for its received messages, unread back to 0." })
  read(@CallerTenant() tenantId: string, @Param('session') session: string, @Param('chat') chat: string) {
    return this.messages.markRead(tenantId, session, chat);
  }

  @Post('presence')
  @HttpCode(200)
  @ApiOperation({ summary: 'Show typing or recording in a chat (or paused), or the account online/offline.' })
  presence(@CallerTenant() tenantId: string, @Param('session') session: string, @Body() body: PresenceDto) {
    return this.messages.presence(tenantId, session, body.chat, body.state);
  }
}
