import { ConflictError, DomainError, NotFoundError, PayloadTooLargeError, UnprocessableError } from '@wafleet/core';

export class MessageNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('message_not_found', `No message ${JSON.stringify(id)} in this session.`);
  }
}

export class MediaTooLargeError extends PayloadTooLargeError {
  constructor(field: string, limitBytes: number) {
    super('media_too_large', `${field} is larger than MEDIA_MAX_BYTES (${limitBytes} bytes).`, { field, limitBytes });
  }
}

/** The engine could not send it as asked: a JID WhatsApp refuses, content it cannot carry. */
export class MessageRefusedError extends UnprocessableError {
  constructor(reason: string) {
    super('message_refused', `The message cannot be sent: ${reason}.`);
  }
}

/** The same Idempotency-Key came with a different request. */
export class IdempotencyKeyReusedError extends UnprocessableError {
  constructor() {
    super('idempotency_key_reused', 'This Idempotency-Key was used for a different request in the last 24 hours; use a new key.');
  }
}

/** The session is not connected to WhatsApp right now, so nothing was sent. */
export class SessionNotConnectedError extends ConflictError {
  constructor(name: string, status: string) {
    super('session_not_connected', `Session ${JSON.stringify(name)} is ${status}; messages can be sent while it is working.`, { status });
  }
}

/** A stored error answer, replayed to a retry with the same Idempotency-Key. */
export class ReplayedError extends DomainError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}
