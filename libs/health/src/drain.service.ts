import { BeforeApplicationShutdown, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '@wafleet/config';
import { Cluster } from '@wafleet/sync';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 20;
/** Left of SHUTDOWN_TIMEOUT_MS for closing the database after giving up on stuck requests. */
const CLOSE_RESERVE_MS = 5000;

/**
 * Draining on a stop signal, before Nest closes anything:
 * 1. readiness turns 503 at once, and the instance reports `draining` in its heartbeats (GET /cluster);
 * 2. for `SHUTDOWN_DRAIN_MS` (SIGTERM only) requests are still served, so a load balancer notices;
 * 3. new requests get 503 `shutting_down`, and requests already in flight — even one whose body is still
 *    arriving — run to completion while the database is still open; only then does Nest close the
 *    listener (closing it earlier makes Node drop a connection whose request body is still arriving).
 * Requests still running when only CLOSE_RESERVE_MS of SHUTDOWN_TIMEOUT_MS is left are given up on, so
 * the database still closes cleanly; main.ts enforces the hard bound.
 */
@Injectable()
export class DrainService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Drain');
  private readonly inFlight = new Set<FastifyRequest>();
  private drainingSince?: number;
  private refusing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly cluster: Cluster,
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  onModuleInit(): void {
    this.cluster.report('draining', false);
    const fastify = this.fastify();
    // A callback hook rather than an async one: it runs on every request, and a promise apiece adds up.
    fastify.addHook('onRequest', (request, reply, done) => {
      if (!this.refusing) {
        // 'close' fires when the answer is sent and also when the client goes away mid-request.
        this.inFlight.add(request);
        reply.raw.once('close', () => this.inFlight.delete(request));
        return done();
      }
      void reply
        .code(503)
        .header('Connection', 'close')
        .header('Retry-After', '1')
        .send({ error: { code: 'shutting_down', message: 'This instance is shutting down; retry on another.' } });
    });
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.drainingSince = Date.now();
    this.cluster.report('draining', true);
    const waitMs = signal === 'SIGTERM' ? this.config.shutdown.drainMs : 0;
    this.logger.log({ signal, waitMs }, 'Draining: readiness is now 503');
    if (waitMs > 0) await sleep(waitMs);

    this.refusing = true;
    if (this.inFlight.size > 0) this.logger.log({ inFlight: this.inFlight.size }, 'Waiting for requests in flight');
    const giveUpAt = this.drainingSince + Math.max(0, this.config.shutdown.timeoutMs - CLOSE_RESERVE_MS);
    while (this.inFlight.size > 0 && Date.now() < giveUpAt) await sleep(POLL_MS);
    if (this.inFlight.size > 0) {
      const stuck = [...this.inFlight].map((request) => ({ id: request.id, method: request.method, url: request.url }));
      this.logger.warn({ stuck }, 'Giving up on requests still in flight');
    }
  }

  private fastify(): FastifyInstance {
    return this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
  }
}
