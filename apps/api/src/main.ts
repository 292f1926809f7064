import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { acceptCsvUploads } from '@wafleet/campaigns';
import { AppConfig, ConfigError, loadConfig } from '@wafleet/config';
import { AllErrorsFilter, answerFrameworkErrors, answerOversizedBodies, createValidationPipe, echoRequestId, RequestLogging, requestIdOf } from '@wafleet/core';
import { DataDirInUseError } from '@wafleet/database';
import { RealtimeIoAdapter } from '@wafleet/realtime';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { serveOpenApi } from './openapi';

/** The version in package.json, three folders above dist/apps/api/src. */
const VERSION = (JSON.parse(readFileSync(join(__dirname, '../../../../package.json'), 'utf8')) as { version: string }).version;
const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Prints one sentence and exits: what an operator sees when the process cannot start. */
function refuseToStart(message: string): never {
  process.stderr.write(`wafleet: ${message}\n`);
  process.exit(1);
}

/** Whatever happens during shutdown, the process is gone within SHUTDOWN_TIMEOUT_MS of the signal. */
function boundShutdown(config: AppConfig): void {
  for (const signal of STOP_SIGNALS) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write(`wafleet: shutdown took longer than SHUTDOWN_TIMEOUT_MS=${config.shutdown.timeoutMs}; exiting.\n`);
        process.exit(1);
      }, config.shutdown.timeoutMs).unref();
    });
  }
}

async function bootstrap(config: AppConfig): Promise<void> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    genReqId: requestIdOf,
    trustProxy: config.http.trustProxy,
    frameworkErrors: answerFrameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    // Boot logs wait for the JSON logger; a failed boot prints only the one sentence of refuseToStart.
    bufferLogs: true,
    autoFlushLogs: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  app.useWebSocketAdapter(new RealtimeIoAdapter(app, config));
  app.useGlobalFilters(new AllErrorsFilter());
  app.useGlobalPipes(createValidationPipe());
  const fastify = app.getHttpAdapter().getInstance();
  // The API speaks JSON only: a text body is a 415, not a string handed to validation.
  fastify.removeContentTypeParser(['text/plain']);
  acceptCsvUploads(fastify);
  echoRequestId(fastify);
  answerOversizedBodies(fastify);
  app.get(RequestLogging).attach(fastify);
  if (config.docsEnabled) serveOpenApi(app, config.version);
  app.enableShutdownHooks([...STOP_SIGNALS]);
  boundShutdown(config);
  await app.listen({ port: config.http.port, host: config.http.host });
  new NestLogger('Main').log(
    { port: config.http.port, database: config.database.kind, sync: config.sync.backend, version: config.version },
    `wafleet listening on http://${config.http.host}:${config.http.port}`,
  );
}

function main(): void {
  let config: AppConfig;
  try {
    config = loadConfig(process.env, { version: VERSION });
  } catch (error) {
    if (error instanceof ConfigError) refuseToStart(error.message);
    throw error;
  }
  bootstrap(config).catch((error: Error) => {
    if (error instanceof DataDirInUseError) refuseToStart(error.message);
    refuseToStart(`could not start: ${error.message}`);
  });
}

main();
