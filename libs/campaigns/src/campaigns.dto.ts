import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ListQueryDto } from '@wafleet/core';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { RECIPIENT_STATES, type RecipientState, type TemplateKind } from './campaign.view';

export const TEMPLATE_KINDS: readonly TemplateKind[] = ['text', 'image', 'video', 'document'];

export class TemplateMediaDto {
  @ApiPropertyOptional({ example: 'https://example.com/offer.jpg', description: 'Fetched once, when the campaign is created (public addresses only unless MEDIA_URL_ALLOW_PRIVATE).' })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  url?: string;

  @ApiPropertyOptional({ description: 'The file itself, base64. Bounded by MEDIA_MAX_BYTES and HTTP_BODY_LIMIT_BYTES.' })
  @IsOptional()
  @IsString()
  base64?: string;

  @ApiPropertyOptional({ example: 'image/jpeg' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  mimetype?: string;

  @ApiPropertyOptional({ example: 'offer.pdf' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  fileName?: string;
}

export class TemplateDto {
  @ApiProperty({ example: 'Hi {{name}}, your code is {{code}}.', description: 'The text (the caption for media); `{{variable}}` is replaced by the recipient\'s value.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  text: string;

  @ApiPropertyOptional({ enum: TEMPLATE_KINDS, description: '`text`, or the kind of `media` (default: `text`, `image` when media is given).' })
  @IsOptional()
  @IsIn(TEMPLATE_KINDS)
  kind?: TemplateKind;

  @ApiPropertyOptional({ type: TemplateMediaDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TemplateMediaDto)
  media?: TemplateMediaDto;
}

/** One recipient; checked one by one, so a bad one is reported rather than failing the request. */
export class RecipientDto {
  @ApiProperty({ example: '+55 11 99999-0000', description: 'E.164 digits (with or without +, spaces, dashes) or a JID.' })
  phone: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { name: 'Ana', code: 'A1' } })
  variables?: Record<string, unknown>;
}

export class CreateCampaignDto {
  @ApiProperty({ example: 'November offer', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: 'sales-bot', description: 'The session that sends it: its id or name.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  session: string;

  @ApiProperty({ type: TemplateDto })
  @IsObject()
  @ValidateNested()
  @Type(() => TemplateDto)
  template: TemplateDto;

  @ApiPropertyOptional({ type: [RecipientDto], description: 'More can be added later, as JSON or CSV, while the campaign is draft or scheduled.' })
  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  recipients?: RecipientDto[];

  @ApiProperty({ example: 20, minimum: 1, maximum: 60000, description: 'Messages per minute.' })
  @IsInt()
  @Min(1)
  @Max(60_000)
  perMinute: number;

  /** @default 0 */
  @ApiPropertyOptional({ example: 20, minimum: 0, maximum: 100, default: 0, description: 'Each gap between messages is moved by up to this share of itself, either way.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  jitterPercent?: number;

  @ApiPropertyOptional({ example: '2026-11-23T09:00:00.000Z', description: 'Starts by itself then (status `scheduled`); without it the campaign is a `draft` until started.' })
  @IsOptional()
  @IsISO8601({ strict: true })
  startAt?: string;
}

export class AddRecipientsDto {
  @ApiProperty({ type: [RecipientDto] })
  @IsArray()
  @IsObject({ each: true })
  recipients: RecipientDto[];
}

export class ListRecipientsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: RECIPIENT_STATES, description: 'Only recipients in this state.' })
  @IsOptional()
  @IsIn(RECIPIENT_STATES)
  state?: RecipientState;
}
