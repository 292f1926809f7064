import { ArgumentMetadata, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, ValidationFailedError } from '../errors/domain-error';

function flatten(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

const isEmptyObject = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null) return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
};

/**
 * Validates an empty query string once per query class: most requests have none, and the outcome for
 * `{}` never changes, so once `{}` passed, later ones get a fresh instance of the class (what
 * class-transformer builds from `{}`) without the work. An empty query that fails always goes the
 * whole way, so its 400 is the one any other bad query gets.
 */
class WafleetValidationPipe extends ValidationPipe {
  private readonly validEmptyQueries = new WeakSet<Type>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const metatype = metadata.metatype;
    if (metadata.type !== 'query' || !metatype || !isEmptyObject(value) || !this.toValidate(metadata)) return super.transform(value, metadata);
    if (this.validEmptyQueries.has(metatype)) return new metatype();
    const entity = await super.transform(value, metadata);
    this.validEmptyQueries.add(metatype);
    return entity;
  }
}

/**
 * The one validation pipe: unknown fields are refused, values are converted to their declared types,
 * and a failure is a 400 whose details name each bad field.
 */
export const createValidationPipe = (): ValidationPipe =>
  new WafleetValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(flatten(errors)),
  });
