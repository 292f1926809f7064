/**
 * A request the sim refuses, with a stable `code` and the HTTP status the control API answers with.
 * Thrown by the server's methods too, so an in-process test sees the same code an HTTP client does.
 */
export class WaSimError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WaSimError';
  }
}

export function unknownAccount(phone: string): WaSimError {
  return new WaSimError('unknown_account', 404, `no account with phone ${phone}`);
}

export function invalidField(field: string, expected: string): WaSimError {
  return new WaSimError('invalid_body', 400, `field "${field}" must be ${expected}`);
}
