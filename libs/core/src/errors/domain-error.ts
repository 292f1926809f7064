/**
 * A failure the API explains to its caller. Each subclass fixes the HTTP status; `code` is a stable
 * snake_case identifier clients may branch on.
 */
export abstract class DomainError extends Error {
  abstract readonly status: number;
  /** Response headers that belong with this error, such as `Retry-After`. */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends DomainError {
  readonly status = 400;
  constructor(details: FieldProblem[], message = `Invalid request: ${details.map((d) => d.field).join(', ')}.`) {
    super('validation_failed', message, details);
  }
}

export interface FieldProblem {
  field: string;
  problems: string[];
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
}

export class NotFoundError extends DomainError {
  readonly status = 404;
}

export class ConflictError extends DomainError {
  readonly status = 409;
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
}

/** Understood, but impossible as asked (a recipient not on WhatsApp, a message that cannot be sent). */
export class UnprocessableError extends DomainError {
  readonly status = 422;
}

export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
}
