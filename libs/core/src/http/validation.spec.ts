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

const BODY: ArgumentMetadata = { type: 'body', metatype: Object, data: undefined };
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

  it('refuses a NUL character anywhere in a body, a query or a path parameter, naming where', async () => {
    const pipe = createValidationPipe();
    const refusal = (value: unknown, metadata: ArgumentMetadata) =>
      pipe.transform(value, metadata).then(
        () => undefined,
        (error: unknown) => (error as ValidationFailedError).details,
      );
    expect(await refusal({ metadata: { note: 'a\u0000b' } }, BODY)).toEqual([{ field: 'metadata.note', problems: ['metadata.note must not contain the NUL character (U+0000)'] }]);
    expect(await refusal({ list: ['ok', 'n\u0000'] }, BODY)).toEqual([{ field: 'list.1', problems: [expect.any(String)] }]);
    expect(await refusal({ 'k\u0000': 1 }, BODY)).toEqual([{ field: 'k\\u0000', problems: ['k\\u0000 must not contain the NUL character (U+0000) in its name'] }]);
    expect(await refusal('csv,\u0000', BODY)).toEqual([{ field: 'body', problems: [expect.any(String)] }]);
    expect(await refusal('s\u0000', { type: 'param', metatype: String, data: 'session' })).toEqual([{ field: 'session', problems: [expect.any(String)] }]);
    expect(await refusal({ limit: '\u0000' }, asQuery(PageQuery))).toEqual([{ field: 'limit', problems: [expect.any(String)] }]);
    expect(await refusal({ metadata: { note: 'fine', list: ['a', 'b'] } }, BODY)).toBeUndefined();
  });

  it('refuses a body nested deeper than 32 levels without walking all of it', async () => {
    const pipe = createValidationPipe();
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const refused = await pipe.transform({ deep }, BODY).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationFailedError);
    expect((refused as ValidationFailedError).details).toEqual([{ field: `deep${'.0'.repeat(31)}`, problems: [expect.stringContaining('nested more than 32 levels')] }]);
    let shallow: unknown = 'bottom';
    for (let i = 0; i < 30; i++) shallow = [shallow];
    await expect(pipe.transform({ shallow }, BODY)).resolves.toEqual({ shallow });
  });
});
