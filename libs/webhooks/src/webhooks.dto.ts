import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListQueryDto } from '@wafleet/core';
import { SESSION_EVENT_TYPES } from '@wafleet/sessions';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, IsUUID, MaxLength, ValidateIf } from 'class-validator';

/** What a subscription's `events` may hold: event types, or '*' for all of them. */
export const EVENT_FILTERS = ['*', ...SESSION_EVENT_TYPES] as const;
export const DELIVERY_STATUSES = ['pending', 'delivering', 'delivered', 'dead', 'disabled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** The statuses a bulk retry may select: those no worker will attempt again by itself. */
export const RETRYABLE_STATUSES = ['dead', 'disabled', 'delivered'] as const;

const URL_DESCRIPTION =
  'http(s) endpoint that receives POSTs. Its host must resolve to public addresses only, unless WEBHOOK_ALLOW_PRIVATE=true. Redirects are not followed.';
const EVENTS_DESCRIPTION = "Event types to deliver (docs/events.md), or '*' for all.";
const SESSIONS_DESCRIPTION = 'Only events of these sessions (ids or names); null or absent: every session of the tenant, present and future.';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://example.com/hooks/wafleet', description: URL_DESCRIPTION })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiProperty({ enum: EVENT_FILTERS, isArray: true, example: ['message.received', 'message.status'], description: EVENTS_DESCRIPTION })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_FILTERS.length)
  @IsIn(EVENT_FILTERS, { each: true, message: `each value in events must be one of: ${EVENT_FILTERS.join(', ')}` })
  events: string[];

  @ApiPropertyOptional({ type: [String], nullable: true, description: SESSIONS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(128, { each: true })
  sessions?: string[] | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'whsec_ + base64 of 24 to 64 bytes; generated when absent. Shown only in this answer.' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  secret?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ description: URL_DESCRIPTION })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: EVENT_FILTERS, isArray: true, description: EVENTS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVENT_FILTERS.length)
  @IsIn(EVENT_FILTERS, { each: true, message: `each value in events must be one of: ${EVENT_FILTERS.join(', ')}` })
  events?: string[];

  @ApiPropertyOptional({ type: [String], nullable: true, description: SESSIONS_DESCRIPTION })
  @ValidateIf((dto: UpdateWebhookDto) => dto.sessions !== null && dto.sessions !== undefined)
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(128, { each: true })
  sessions?: string[] | null;

  @ApiPropertyOptional({ description: 'false stops deliveries (those waiting become disabled); true resumes for new events.' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class RotateSecretDto {
  @ApiPropertyOptional({ description: 'The new secret (whsec_ + base64 of 24 to 64 bytes); generated when absent.' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  secret?: string;
}

export class ListDeliveriesQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

/** Either every delivery of a status, or the listed ones. */
export class RetryDeliveriesDto {
  @ApiPropertyOptional({ enum: RETRYABLE_STATUSES, description: 'Retry every delivery of this webhook in this status.' })
  @ValidateIf((dto: RetryDeliveriesDto) => dto.ids === undefined || dto.status !== undefined)
  @IsIn(RETRYABLE_STATUSES, { message: `status must be one of: ${RETRYABLE_STATUSES.join(', ')} (or give ids)` })
  status?: (typeof RETRYABLE_STATUSES)[number];

  @ApiPropertyOptional({ type: [String], description: 'Retry these deliveries (up to 1000); those being attempted right now are skipped.' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsUUID('all', { each: true })
  ids?: string[];
}
