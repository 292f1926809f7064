/** The one error shape of the API: `{ error: { code, message, details? } }`, or `{ error: { code, message, errorId } }` for a 500. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; errorId?: string };
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'route_not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** A stable code for a plain HTTP status raised by the framework rather than by wafleet. */
export const codeForStatus = (status: number): string => CODES_BY_STATUS[status] ?? 'client_error';
