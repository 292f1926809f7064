import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListQueryDto } from '@wafleet/core';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { DesiredState, SessionMe, SessionStatus } from './session.entity';

/** Safe in a URL path segment, and never mistaken for an id: a name that looks like a UUID is refused. */
const NAME = /^(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)[A-Za-z0-9][A-Za-z0-9._-]*$/i;

export const SESSION_STATUSES: SessionStatus[] = ['stopped', 'starting', 'scan_qr', 'working', 'failed', 'logged_out', 'qr_expired'];

export class CreateSessionDto {
  @ApiProperty({ example: 'sales-bot', maxLength: 64, description: 'Unique per tenant; usable in place of the id in every session route.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  @Matches(NAME, { message: 'name must start with a letter or digit, hold only letters, digits, dots, dashes and underscores, and not be a UUID' })
  name: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { team: 'sales' }, description: 'Your own data, returned as given (at most 8 KB of JSON).' })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class QrQueryDto {
  /** @default 'png' */
  @ApiPropertyOptional({ enum: ['png', 'raw'], default: 'png', description: '`png`: an image/png to show; `raw`: JSON with the string the QR encodes.' })
  @IsOptional()
  @IsIn(['png', 'raw'])
  format: 'png' | 'raw' = 'png';
}

export class PairingCodeDto {
  @ApiProperty({ example: '+55 11 99999-0000', description: "The phone's own number with country code (digits, E.164 or a JID)." })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  phone: string;
}

export class SessionMeResponse implements SessionMe {
  @ApiProperty({ example: '5511999990000:3@s.whatsapp.net' }) id: string;
  @ApiPropertyOptional() name?: string;
}

export class SessionResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: SESSION_STATUSES }) status: SessionStatus;
  @ApiProperty({ enum: ['stopped', 'running'], description: 'What was asked for; a running session starts again after a restart.' })
  desiredState: DesiredState;
  @ApiProperty({ type: SessionMeResponse, nullable: true, description: 'The linked account once paired.' }) me: SessionMeResponse | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata: Record<string, unknown>;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class SessionPageResponse {
  @ApiProperty({ type: [SessionResponse] }) data: SessionResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last.' })
  nextCursor: string | null;
}

export class QrResponse {
  @ApiProperty({ description: 'The string the QR encodes; render it yourself or use format=png.' }) qr: string;
}

export class PairingCodeResponse {
  @ApiProperty({ example: 'ABCD1234', description: 'Type it on the phone: Linked devices → Link with phone number.' }) code: string;
  @ApiProperty({ example: '5511999990000' }) phone: string;
}

export class SessionEventsQueryDto extends ListQueryDto {
  /** @default 0 */
  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'Answer the events whose `seq` is greater than this.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after: number = 0;
}

export class SessionEventResponse {
  @ApiProperty({ format: 'uuid', description: 'Unique; the `webhook-id` of its webhook deliveries.' }) id: string;
  @ApiProperty({ example: 'session.status', description: 'See docs/events.md for every type and its data.' }) type: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ format: 'uuid' }) sessionId: string;
  @ApiProperty({ example: 42, description: "The session's gap-free sequence number." }) seq: number;
  @ApiProperty({ format: 'date-time' }) occurredAt: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) data: Record<string, unknown>;
}

export class SessionEventPageResponse {
  @ApiProperty({ type: [SessionEventResponse] }) data: SessionEventResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'The last `seq` of this page: pass it as `after` (or `cursor`) for the next; null on the last.' })
  nextCursor: string | null;
}
