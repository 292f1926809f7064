/** A pairing code was asked of an engine that is not registering (not connected yet, or already paired). */
export class EngineNotRegisteringError extends Error {
  override name = 'EngineNotRegisteringError';
  constructor(sessionId: string) {
    super(`session ${sessionId} is not registering a device, so it cannot ask for a pairing code`);
  }
}
