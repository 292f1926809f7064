/**
 * The baseline for bench/realtime.bench.ts's send throughput: Nest on Fastify with one controller and
 * nothing else (no guard, no validation pipe, no logger, no database), so the figure beside it is what
 * the framework alone costs per request on this machine. `POST /sessions/:session/messages` parses the
 * JSON body as wafleet's route does and answers 201 with a small JSON object; `GET /health` answers 200
 * for the readiness poll. Listens on 127.0.0.1:PORT.
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';

@Controller()
class BareController {
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Post('sessions/:session/messages')
  @HttpCode(201)
  send(@Param('session') session: string, @Body() body: { to?: unknown; text?: unknown }) {
    return { id: randomUUID(), session, to: body?.to ?? null, text: body?.text ?? null, status: 'sent' };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT=${process.env.PORT} must be a port number`);
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(port, '127.0.0.1');
}

main().catch((error: Error) => {
  process.stderr.write(`bare nest: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
