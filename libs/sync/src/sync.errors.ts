import { DomainError, ServiceUnavailableError } from '@wafleet/core';

/** Redis is unreachable or too slow: the call failed fast instead of queueing. */
export class SyncUnavailableError extends ServiceUnavailableError {
  override readonly headers = { 'Retry-After': '1' };
  constructor(operation: string, cause?: unknown) {
    super('sync_unavailable', `Coordination between replicas is unavailable (${operation}); retry shortly.`);
    this.cause = cause;
  }
}

export class BusUnknownInstanceError extends ServiceUnavailableError {
  override readonly headers = { 'Retry-After': '1' };
  constructor(instanceId: string) {
    super('instance_unknown', `No live instance ${JSON.stringify(instanceId)}.`);
  }
}

export class BusTimeoutError extends ServiceUnavailableError {
  override readonly headers = { 'Retry-After': '1' };
  constructor(instanceId: string, command: string, timeoutMs: number) {
    super('instance_timeout', `Instance ${JSON.stringify(instanceId)} did not answer ${command} within ${timeoutMs} ms.`);
  }
}

export class BusPayloadTooLargeError extends DomainError {
  readonly status = 413;
  constructor(what: 'request' | 'reply', bytes: number, limit: number) {
    super('bus_payload_too_large', `The ${what} is ${bytes} bytes; BUS_MAX_PAYLOAD_BYTES allows ${limit}.`);
  }
}

/** The remote handler's own failure, carried back with its code, message and status. */
export class BusRemoteError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}
