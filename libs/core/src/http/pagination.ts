import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { ValidationFailedError } from '../errors/domain-error';
import { isUuid } from './uuid';

/** `?limit=&cursor=` on every list route. */
export class ListQueryDto {
  /** @default 50 */
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50, description: 'Items per page.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;

  @ApiPropertyOptional({ description: 'The `nextCursor` of the previous page.' })
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** One page of a list: `{ data, nextCursor }`; `nextCursor` is null on the last page. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Position after an item in a list ordered by (createdAt, id). */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(`${position.createdAt.toISOString()}|${position.id}`).toString('base64url');
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Reads a cursor back; anything this API could not have made is a 400, never a database error. */
export function decodeCursor(cursor: string): CursorPosition {
  const [iso = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  const createdAt = new Date(iso);
  if (rest.length || !ISO_UTC.test(iso) || Number.isNaN(createdAt.getTime()) || !isUuid(id)) {
    throw new ValidationFailedError([{ field: 'cursor', problems: ['cursor is not one this API returned'] }]);
  }
  return { createdAt, id };
}

/** Builds a page from `limit + 1` rows fetched in list order. */
export function toPage<Row extends CursorPosition, Item>(rows: Row[], limit: number, map: (row: Row) => Item): Page<Item> {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return { data: shown.map(map), nextCursor: more && last ? encodeCursor(last) : null };
}
