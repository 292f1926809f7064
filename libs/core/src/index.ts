export {
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnprocessableError,
  UnauthorizedError,
  ValidationFailedError,
} from './errors/domain-error';
export type { FieldProblem } from './errors/domain-error';
export type { ErrorBody } from './errors/error-body';
export { AllErrorsFilter } from './errors/all-errors.filter';
export { createValidationPipe } from './http/validation';
export { decodeCursor, encodeCursor, ListQueryDto, toPage } from './http/pagination';
export type { CursorPosition, Page } from './http/pagination';
export { echoRequestId, requestIdOf } from './http/request-id';
export { answerOversizedBodies } from './http/oversized-bodies';
export { answerFrameworkErrors } from './http/framework-errors';
export { LoggingModule } from './logging/logging.module';
export { RequestLogging } from './logging/request-logging';
export { loggerOptions, REDACTED_PATHS } from './logging/logger-options';
export { MetricsModule } from './metrics/metrics.module';
export { isUuid } from './http/uuid';
export { withoutNul } from './text/without-nul';
export { newTimeOrderedId, randomBytesFromPool } from './ids/ids';
export { isPublicAddress, nonPublicAddressOf } from './http/public-address';
export { RETENTION_BATCH, RetentionSweep } from './housekeeping/retention-sweep';
export type { RetentionJob } from './housekeeping/retention-sweep';
