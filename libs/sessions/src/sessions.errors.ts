import { ConflictError, NotFoundError } from '@wafleet/core';
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
