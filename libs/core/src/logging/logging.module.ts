import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { Logger, PARAMS_PROVIDER_TOKEN, PinoLogger, type Params } from 'nestjs-pino';
import pino from 'pino';
import { loggerOptions } from './logger-options';
import { RequestLogging } from './request-logging';

/**
 * JSON lines on stdout through pino: every line carries the instance id, and every line written while
 * serving a request carries its request id (`reqId`). Keys, secrets and auth headers are redacted.
 *
 * nestjs-pino's own module mounts pino-http as Express-style middleware, which under Fastify runs through
 * a compatibility layer on every request; on the send route that cost more than a fifth of the replica's
 * CPU. This module provides the same Logger and PinoLogger, and RequestLogging does the request's part
 * with two Fastify hooks.
 */
@Global()
@Module({
  providers: [
    {
      provide: PARAMS_PROVIDER_TOKEN,
      inject: [AppConfig],
      // Synchronous writes: the last lines before an exit (shutdown, a refused boot) are never lost.
      useFactory: (config: AppConfig): Params => ({ pinoHttp: [loggerOptions(config), pino.destination({ dest: 1, sync: true })] }),
    },
    Logger,
    PinoLogger,
    RequestLogging,
  ],
  exports: [Logger, PinoLogger, RequestLogging],
})
export class LoggingModule {}
