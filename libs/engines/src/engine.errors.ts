import { ConflictError, DomainError } from '@wafleet/core';

/** A pairing code was asked of an engine that is not registering (not connected yet, or already paired). */
export class EngineNotRegisteringError extends Error {
  override name = 'EngineNotRegisteringError';
  constructor(sessionId: string) {
    super(`session ${sessionId} is not registering a device, so it cannot ask for a pairing code`);
  }
}

/**
 * A message call reached an engine that is not logged in (connecting, registering, reconnecting or
 * stopped). 409: the session is in the wrong state; the REST layer may answer 503 with `Retry-After`
 * instead while the engine is reconnecting.
 */
export class EngineNotConnectedError extends ConflictError {
  constructor(
    readonly sessionId: string,
    readonly state: string,
  ) {
    super('session_not_connected', `session ${sessionId} is not connected to WhatsApp (it is ${state})`);
  }
}

/** A message whose recipient or content WhatsApp cannot take; `field` names what is wrong. */
export class InvalidMessageError extends DomainError {
  readonly status = 400;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super('invalid_message', `${field} ${problem}`, [{ field, problems: [problem] }]);
  }
}

/**
 * Presence `available`/`unavailable` carries the account's display name (push name), which the engine
 * learns from WhatsApp only after the phone has synced it; before that, WhatsApp Web sends none either.
 */
export class EngineNoPushNameError extends ConflictError {
  constructor(sessionId: string) {
    super('push_name_unknown', `session ${sessionId} does not know its display name yet, so it cannot set its presence`);
  }
}

/** The media host no longer has the file, or what it returned fails the message's integrity check. */
export class MediaUnavailableError extends DomainError {
  readonly status = 422;
  constructor(reason: string) {
    super('media_unavailable', `the media cannot be downloaded: ${reason}`);
  }
}
