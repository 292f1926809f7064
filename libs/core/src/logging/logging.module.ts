import { Module, RequestMethod } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { loggerOptions } from './logger-options';

type RawRequest = { url?: string; originalUrl?: string };

/** The path as the client sent it: middie rewrites `url` for middleware matching and keeps the original. */
const urlOf = (req: RawRequest) => req.originalUrl ?? req.url ?? '';

/**
 * JSON lines on stdout through pino: every line carries the instance id, and every line written while
 * serving a request carries its request id. Keys, secrets and auth headers are redacted.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Under Fastify, Nest 12.5 does not match nestjs-pino's default route pattern `{/*splat}`.
        forRoutes: [{ path: '*', method: RequestMethod.ALL }],
        pinoHttp: [
          {
            ...loggerOptions(config),
            // The request id is fixed by Fastify (genReqId) before this middleware runs; pino-http reuses req.id.
            quietReqLogger: true,
            autoLogging: { ignore: (req) => urlOf(req).startsWith('/health') },
            serializers: {
              req: (req: { id: string; method: string; raw: RawRequest }) => ({ id: req.id, method: req.method, url: urlOf(req.raw) }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
          },
          // Synchronous writes: the last lines before an exit (shutdown, a refused boot) are never lost.
          pino.destination({ dest: 1, sync: true }),
        ],
      }),
    }),
  ],
})
export class LoggingModule {}
