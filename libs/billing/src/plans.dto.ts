import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNotEmpty, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u;
const NAME_RULE = 'name must start with a letter or digit and hold only letters, digits, spaces, dots, dashes and underscores';
const INT_MAX = 2_147_483_647;

/** A limit: a whole number from 0, or null for no limit; left out on create it is null too. */
const limit = (description: string) => (target: object, key: string) => {
  ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: INT_MAX, description: `${description} null: no limit.` })(target, key);
  IsOptional()(target, key);
  IsInt()(target, key);
  Min(0)(target, key);
  Max(INT_MAX)(target, key);
};

class PlanLimitsDto {
  @limit('Requests per RATE_LIMIT_WINDOW_MS (a minute by default) over all the tenant\'s keys, across replicas.')
  requestsPerMinute?: number | null;

  @limit('Messages the API (and campaigns) may send per UTC day.')
  messagesPerDay?: number | null;

  @limit('Sessions the tenant may have.')
  maxSessions?: number | null;

  @limit('Campaigns the tenant may run at once.')
  maxRunningCampaigns?: number | null;
}

export class CreatePlanDto extends PlanLimitsDto {
  @ApiProperty({ example: 'starter', maxLength: 100, description: 'Unique name of the plan.' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  @Matches(NAME, { message: NAME_RULE })
  name: string;
}

/** Only the fields given change; a limit set to null is lifted. */
export class UpdatePlanDto extends PlanLimitsDto {
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  @Matches(NAME, { message: NAME_RULE })
  name?: string;
}

export class SetTenantPlanDto {
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The plan; null takes the tenant off any plan (no limits).' })
  @ValidateIf((_, value) => value !== null)
  @IsUUID('all', { message: 'planId must be a UUID or null' })
  planId: string | null;
}

export class UsageQueryDto {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'First day (UTC), YYYY-MM-DD; default 29 days before `to`.' })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Last day (UTC), YYYY-MM-DD, included; default today.' })
  @IsOptional()
  @IsString()
  to?: string;
}

export class PlanResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: Number, nullable: true }) requestsPerMinute: number | null;
  @ApiProperty({ type: Number, nullable: true }) messagesPerDay: number | null;
  @ApiProperty({ type: Number, nullable: true }) maxSessions: number | null;
  @ApiProperty({ type: Number, nullable: true }) maxRunningCampaigns: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt: Date;
  @ApiProperty({ format: 'date-time' }) updatedAt: Date;
}

export class PlanPageResponse {
  @ApiProperty({ type: [PlanResponse] }) data: PlanResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class TenantPlanResponse {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ type: PlanResponse, nullable: true, description: 'null: no plan, no limits.' }) plan: PlanResponse | null;
}

class UsageFigures {
  @ApiProperty() messagesSent: number;
  @ApiProperty() messagesReceived: number;
  @ApiProperty({ description: 'Requests made with the tenant\'s keys; written about once a second (USAGE_FLUSH_INTERVAL_MS).' }) apiCalls: number;
}

class UsageDayResponse extends UsageFigures {
  @ApiProperty({ example: '2026-11-22' }) day: string;
}

export class UsageResponse {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ example: '2026-11-01' }) from: string;
  @ApiProperty({ example: '2026-11-30' }) to: string;
  @ApiProperty({ type: [UsageDayResponse] }) days: UsageDayResponse[];
  @ApiProperty({ type: UsageFigures }) totals: UsageFigures;
}
