import { ConflictError, NotFoundError, ServiceUnavailableError } from '@wafleet/core';
import type { SessionStatus } from './session.entity';

export class SessionNotFoundError extends NotFoundError {
  constructor(idOrName: string) {
    super('session_not_found', `No session ${JSON.stringify(idOrName)}.`);
  }
}

export class SessionNameTakenError extends ConflictError {
  constructor(name: string) {
    super('session_name_taken', `A session named ${JSON.stringify(name)} already exists for this tenant.`);
  }
}

/** The session is not in a state where this can be done; the message names the state it is in. */
export class SessionStateError extends ConflictError {
  constructor(name: string, status: SessionStatus, needed: string) {
    super('session_wrong_state', `Session ${JSON.stringify(name)} is ${status}; ${needed}.`, { status });
  }
}

/** This instance is stopping its sessions; another replica (or this one, restarted) will serve it. */
export class SessionsShuttingDownError extends ServiceUnavailableError {
  constructor() {
    super('shutting_down', 'This instance is shutting down and starts no session; retry in a moment.');
    this.headers['Retry-After'] = '1';
  }
}

/** The engine is between connections (reconnecting); the same request will work shortly. */
export class SessionBusyError extends ServiceUnavailableError {
  constructor(name: string, doing: string) {
    super('session_busy', `Session ${JSON.stringify(name)} is ${doing}; retry in a moment.`);
    this.headers['Retry-After'] = '2';
  }
}

/** The session should run but no replica runs it yet (its owner just died); the reconciler will start it. */
export class SessionUnownedError extends ServiceUnavailableError {
  constructor(name: string, leaseTtlMs: number) {
    super('session_unowned', `Session ${JSON.stringify(name)} is being moved to a live replica; retry in a moment.`);
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(leaseTtlMs / 1000)));
  }
}

/** Every replica is at MAX_SESSIONS. */
export class NoCapacityError extends ServiceUnavailableError {
  constructor() {
    super('no_capacity', 'Every replica runs as many sessions as MAX_SESSIONS allows; add a replica or raise MAX_SESSIONS.');
    this.headers['Retry-After'] = '30';
  }
}
