import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ValidationFailedError } from '../errors/domain-error';
import { createValidationPipe } from './validation';

class PageQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) limit: number = 20;
}

class FormatQuery {
  @IsIn(['png', 'raw']) format!: string;
}

const asQuery = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'query', metatype, data: undefined });

describe('the validation pipe', () => {
  it('answers an empty query with a fresh instance of its class, defaults set, each time', async () => {
    const pipe = createValidationPipe();
    const first = (await pipe.transform({}, asQuery(PageQuery))) as PageQuery;
    const second = (await pipe.transform({}, asQuery(PageQuery))) as PageQuery;
    expect(first).toBeInstanceOf(PageQuery);
    expect(second).toEqual({ limit: 20 });
    first.limit = 99;
    expect(second.limit).toBe(20);
    expect(((await pipe.transform({}, asQuery(PageQuery))) as PageQuery).limit).toBe(20);
  });

  it('refuses an empty query its class does not accept, every time', async () => {
    const pipe = createValidationPipe();
    for (let i = 0; i < 2; i++) {
      const refusal = await pipe.transform({}, asQuery(FormatQuery)).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ValidationFailedError);
      expect((refusal as ValidationFailedError).message).toBeDefined();
    }
  });

  it('still validates and converts a query that is not empty', async () => {
    const pipe = createValidationPipe();
    await pipe.transform({}, asQuery(PageQuery));
    expect(await pipe.transform({ limit: '7' }, asQuery(PageQuery))).toEqual({ limit: 7 });
    await expect(pipe.transform({ limit: '0' }, asQuery(PageQuery))).rejects.toBeInstanceOf(ValidationFailedError);
    await expect(pipe.transform({ other: '1' }, asQuery(PageQuery))).rejects.toBeInstanceOf(ValidationFailedError);
  });
});
