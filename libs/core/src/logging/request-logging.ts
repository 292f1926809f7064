import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';

/** The parts of Fastify's request and reply the hooks read. */
interface HookRequest {
  id: string;
  method: string;
  url: string;
  originalUrl?: string;
}
interface HookReply {
  statusCode: number;
  elapsedTime: number;
}
type Done = () => void;
interface HookHost {
  addHook(name: 'preHandler' | 'onResponse', hook: (request: HookRequest, reply: HookReply, done: Done) => void): unknown;
}

const asWritten = <T>(value: T): T => value;

/** Readiness and liveness probes come every few seconds and say nothing worth a line. */
const UNLOGGED = '/health';

/**
 * The request's part of logging, as two Fastify hooks: the handler (Nest's guards, pipes, interceptors
 * and the route itself) runs in a logging context bound to the request id, so every line it writes
 * carries `reqId`; and one line closes each request with its method, path, status and duration
 * (`request completed`, or `request errored` at error level for a 5xx).
 */
@Injectable()
export class RequestLogging {
  constructor(private readonly logger: PinoLogger) {}

  attach(fastify: HookHost): void {
    // The root logger, taking `req` and `res` as written here: pino-http's serializers expect Node's objects.
    const lines = PinoLogger.root.child({}, { serializers: { req: asWritten, res: asWritten } });
    fastify.addHook('preHandler', (request, _reply, done) => this.logger.runInContext(done, { bindings: { reqId: request.id } }));
    fastify.addHook('onResponse', (request, reply, done) => {
      completed(lines, request, reply);
      done();
    });
  }
}

/** The line that closes a request. */
function completed(lines: PinoLogger['logger'], request: HookRequest, reply: HookReply): void {
  const url = request.originalUrl ?? request.url;
  const failed = reply.statusCode >= 500;
  if (url.startsWith(UNLOGGED) || !lines.isLevelEnabled(failed ? 'error' : 'info')) return;
  const line = {
    reqId: request.id,
    req: { id: request.id, method: request.method, url },
    res: { statusCode: reply.statusCode },
    responseTime: Math.round(reply.elapsedTime),
  };
  if (failed) lines.error(line, 'request errored');
  else lines.info(line, 'request completed');
}
