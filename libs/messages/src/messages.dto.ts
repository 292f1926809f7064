import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListQueryDto } from '@wafleet/core';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { FORWARD_STATUSES, type ForwardStatus } from './message-status';

export const MESSAGE_KINDS = ['text', 'image', 'video', 'audio', 'document', 'sticker', 'location', 'contact', 'reaction'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];
export const MEDIA_KINDS: readonly MessageKind[] = ['image', 'video', 'audio', 'document', 'sticker'];

/** The longest `timeout` a send may wait for a status. */
export const MAX_WAIT_MS = 60_000;
export const DEFAULT_WAIT_MS = 15_000;

export class MediaDto {
  @ApiPropertyOptional({ example: 'https://example.com/cat.jpg', description: 'Fetched by the server (no redirects; public addresses only unless MEDIA_URL_ALLOW_PRIVATE).' })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  url?: string;

  @ApiPropertyOptional({ description: 'The file itself, base64 (a data: URL prefix is accepted). Bounded by MEDIA_MAX_BYTES and HTTP_BODY_LIMIT_BYTES.' })
  @IsOptional()
  @IsString()
  base64?: string;

  @ApiPropertyOptional({ example: 'image/jpeg', description: 'Told from the bytes when left out.' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  mimetype?: string;

  @ApiPropertyOptional({ example: 'report.pdf' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  fileName?: string;
}

export class LocationDto {
  @ApiProperty({ example: -23.5505 }) @IsNumber() @Min(-90) @Max(90) latitude: number;
  @ApiProperty({ example: -46.6333 }) @IsNumber() @Min(-180) @Max(180) longitude: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1024) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1024) address?: string;
}

/** Either `name` + `phone` (a vCard is built), or `displayName` + `vcard`. */
export class ContactDto {
  @ApiPropertyOptional({ example: 'Ana Souza' }) @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) name?: string;
  @ApiPropertyOptional({ example: '+55 11 99999-0000' }) @IsOptional() @IsString() @MaxLength(64) phone?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256) displayName?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(16_384) vcard?: string;
}

export class ReactionDto {
  @ApiProperty({ description: 'The message reacted to: its id here, or its WhatsApp id (waId).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  messageId: string;

  @ApiProperty({ example: '👍', description: "One emoji; '' removes this account's reaction." })
  @IsString()
  @MaxLength(32)
  emoji: string;
}

export class SendMessageDto {
  @ApiProperty({ example: '5511999990000', description: 'A phone number with country code, or a JID (user, group or lid).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  to: string;

  @ApiProperty({ enum: MESSAGE_KINDS })
  @IsIn(MESSAGE_KINDS)
  kind: MessageKind;

  @ApiPropertyOptional({ description: 'The text (kind text).' })
  @ValidateIf((dto: SendMessageDto) => dto.kind === 'text')
  @IsString()
  @IsNotEmpty()
  @MaxLength(65_536)
  text?: string;

  @ApiPropertyOptional({ default: false, description: 'Kind text: show a preview of the first URL (built offline: its address and host name).' })
  @IsOptional()
  @IsBoolean()
  linkPreview?: boolean;

  @ApiPropertyOptional({ description: 'Image, video or document caption.' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  caption?: string;

  @ApiPropertyOptional({ type: MediaDto, description: 'Kinds image, video, audio, document and sticker.' })
  @ValidateIf((dto: SendMessageDto) => MEDIA_KINDS.includes(dto.kind))
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => MediaDto)
  media?: MediaDto;

  @ApiPropertyOptional({ default: false, description: 'Kind audio: a voice note (played, not downloaded).' })
  @IsOptional()
  @IsBoolean()
  voice?: boolean;

  @ApiPropertyOptional({ description: 'Kind audio or video: its length in seconds.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(86_400)
  seconds?: number;

  @ApiPropertyOptional({ type: LocationDto })
  @ValidateIf((dto: SendMessageDto) => dto.kind === 'location')
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => LocationDto)
  location?: LocationDto;

  @ApiPropertyOptional({ type: ContactDto })
  @ValidateIf((dto: SendMessageDto) => dto.kind === 'contact')
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ContactDto)
  contact?: ContactDto;

  @ApiPropertyOptional({ type: ReactionDto })
  @ValidateIf((dto: SendMessageDto) => dto.kind === 'reaction')
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ReactionDto)
  reaction?: ReactionDto;

  @ApiPropertyOptional({ description: 'Reply to this message: its id here, or its waId.' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  quotedId?: string;

  @ApiPropertyOptional({ type: [String], description: 'Phones or JIDs the text mentions (write @<phone> in the text).' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(256)
  @IsString({ each: true })
  mentions?: string[];
}

export class SendQueryDto {
  @ApiPropertyOptional({ enum: FORWARD_STATUSES, description: 'Answer once the message has reached this status (or failed), or at the timeout.' })
  @IsOptional()
  @IsIn(FORWARD_STATUSES)
  wait?: ForwardStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_WAIT_MS, default: DEFAULT_WAIT_MS, description: 'Milliseconds to wait for `wait`.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_WAIT_MS)
  timeout?: number;
}

export class ListMessagesQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ description: 'Only this chat (a phone number or JID).' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  chat?: string;
}

export class EditMessageDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(65_536) text: string;
}

export class PresenceDto {
  @ApiProperty({ example: '5511999990000', description: 'The chat (ignored for available/unavailable).' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(128)
  chat: string;

  @ApiProperty({ enum: ['composing', 'recording', 'paused', 'available', 'unavailable'] })
  @IsIn(['composing', 'recording', 'paused', 'available', 'unavailable'])
  state: 'composing' | 'recording' | 'paused' | 'available' | 'unavailable';
}
