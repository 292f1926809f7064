import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;

export class CreateTenantDto {
  @ApiProperty({ example: 'acme', maxLength: 100, description: 'Unique name of the tenant.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  @Matches(NAME, { message: 'name must start with a letter or digit and hold only letters, digits, spaces, dots, dashes and underscores' })
  name: string;
}

export class CreateApiKeyDto {
  @ApiPropertyOptional({ example: 'crm-production', maxLength: 100, default: 'default', description: 'A label to tell keys apart.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name?: string;
}

export class TenantResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
}

export class TenantPageResponse {
  @ApiProperty({ type: [TenantResponse] }) data: TenantResponse[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last.' })
  nextCursor: string | null;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: 'wfk_3xAmPl3z', description: 'First characters of the key, to tell keys apart.' }) prefix: string;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt: Date | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt: Date | null;
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ description: 'The key itself. Shown only in this response: store it now.' })
  key: string;
}

export class ApiKeyPageResponse {
  @ApiProperty({ type: [ApiKeyResponse] }) data: ApiKeyResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
