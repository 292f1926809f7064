import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const ACCEPTABLE = /^[A-Za-z0-9._:\-]{1,128}$/;

/** The request's id: the caller's `X-Request-Id` when it is a sane token, otherwise a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}

/** Echoes the request id on every answer, errors included, so a caller can quote it. */
export function echoRequestId(fastify: {
  addHook(name: 'onSend', hook: (request: { id: string }, reply: { header(name: string, value: string): unknown }, payload: unknown, done: () => void) => void): unknown;
}): void {
  fastify.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
}
