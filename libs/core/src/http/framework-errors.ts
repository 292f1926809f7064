import type { FastifyError, FastifyReply } from 'fastify';
import { codeForStatus, type ErrorBody } from '../errors/error-body';

/** Fastify's default longest path segment (its `maxParamLength`), which wafleet keeps. */
const MAX_PARAM_LENGTH = 100;

const MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'The path is not a valid URL: a percent-encoding in it does not decode.',
  FST_ERR_MAX_PARAM_LENGTH: `A path segment is longer than ${MAX_PARAM_LENGTH} characters; no id or name is that long.`,
};

/**
 * What Fastify's router answers before any route, hook or Nest filter runs — a path that does not decode
 * (400) or a path segment past `maxParamLength` (414) — in the API's one error shape, as every other
 * error is. Pass it as the adapter's `frameworkErrors`.
 */
export function answerFrameworkErrors(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const body: ErrorBody = { error: { code: codeForStatus(status), message: MESSAGES[error.code] ?? error.message } };
  void reply.code(status).send(body);
}
