import { ConflictError } from '@wafleet/core';

/**
 * An auth-state write was refused because the session's `lease_epoch` is no longer the one the writer
 * holds: another replica claimed the session (or it was deleted). The engine must stop at once rather
 * than keep talking to WhatsApp with keys the new owner no longer sees.
 */
export class StaleEpochError extends ConflictError {
  constructor(
    readonly sessionId: string,
    readonly heldEpoch: string,
    /** The epoch in the database now; null when the session row is gone. */
    readonly currentEpoch: string | null,
  ) {
    super(
      'stale_epoch',
      currentEpoch === null
        ? `Session ${sessionId} no longer exists; its auth state was not written.`
        : `Session ${sessionId} is held at epoch ${currentEpoch}, not ${heldEpoch}; its auth state was not written.`,
      { sessionId, heldEpoch, currentEpoch },
    );
  }
}
