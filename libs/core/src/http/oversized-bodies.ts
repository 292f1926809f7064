import type { IncomingMessage } from 'node:http';

/** How long, by default, the rest of an oversized body may take to arrive before its connection is closed. */
const LINGER_MS = 10_000;

interface HookRequest {
  raw: IncomingMessage;
}
interface HookReply {
  statusCode: number;
  getHeader(name: string): unknown;
  removeHeader(name: string): unknown;
}
interface HookHost {
  addHook(name: 'onSend', hook: (request: HookRequest, reply: HookReply, payload: unknown, done: () => void) => void): unknown;
}

/**
 * A body over the limit gets its 413 without the connection being torn down under the client. Fastify
 * answers as soon as the declared length is too large, and closes the connection while the client is
 * still writing the body: most clients then see a reset (EPIPE, ECONNRESET), not the answer. As nginx's
 * lingering close does, the connection stays open while the rest of the body arrives (Node reads and
 * drops a body the route did not read) and carries the next request; a body that has not ended after
 * `lingerMs` gets its connection closed.
 */
export function answerOversizedBodies(fastify: HookHost, lingerMs = LINGER_MS): void {
  fastify.addHook('onSend', (request, reply, _payload, done) => {
    const raw = request.raw;
    if (reply.statusCode === 413 && !raw.complete && reply.getHeader('connection') === 'close') {
      reply.removeHeader('connection');
      const socket = raw.socket;
      const timer = setTimeout(() => raw.complete || socket.destroy(), lingerMs).unref();
      socket.once('close', () => clearTimeout(timer));
    }
    done();
  });
}
