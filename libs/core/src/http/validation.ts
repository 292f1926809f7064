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

/** Nothing wafleet takes nests this deep; past it, a body is refused before class-transformer recurses into it without a bound. */
const MAX_DEPTH = 32;
const NUL = '\u0000';

/** A field name as a message can show it: a NUL in a key is written out. */
const shown = (field: string): string => field.replaceAll(NUL, '\\u0000');

/**
 * The first part of a request that could not be stored, whatever its declared type: a string (or key)
 * holding U+0000, which PostgreSQL's text and jsonb refuse, or a value nested deeper than MAX_DEPTH.
 */
function unstorable(value: unknown, field: string, depth = 0): FieldProblem | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? { field: shown(field), problems: [`${shown(field)} must not contain the NUL character (U+0000)`] } : undefined;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return undefined;
  if (depth >= MAX_DEPTH) return { field: shown(field), problems: [`${shown(field)} is nested more than ${MAX_DEPTH} levels deep`] };
  for (const [key, child] of Object.entries(value)) {
    const path = field ? `${field}.${key}` : key;
    if (key.includes(NUL)) return { field: shown(path), problems: [`${shown(path)} must not contain the NUL character (U+0000) in its name`] };
    const problem = unstorable(child, path, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Refuses what could not be stored (see `unstorable`) in the body, the query and the path, whatever the
 * route declares, so it is a 400 naming the field rather than a database error.
 *
 * Validates an empty query string once per query class: most requests have none, and the outcome for
 * `{}` never changes, so once `{}` passed, later ones get a fresh instance of the class (what
 * class-transformer builds from `{}`) without the work. An empty query that fails always goes the
 * whole way, so its 400 is the one any other bad query gets.
 */
class WafleetValidationPipe extends ValidationPipe {
  private readonly validEmptyQueries = new WeakSet<Type>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      // A path parameter is named by itself; the fields of a body or query by their path in it.
      const root = metadata.type === 'param' && metadata.data ? metadata.data : typeof value === 'object' ? '' : metadata.type;
      const problem = unstorable(value, root);
      if (problem) throw new ValidationFailedError([problem]);
    }
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
