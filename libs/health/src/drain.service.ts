import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Draining on a stop signal: readiness turns 503 at once, then for `SHUTDOWN_DRAIN_MS` (SIGTERM only)
 * requests are still served so a load balancer can notice before the HTTP server closes. Nest closes
 * the server after this hook, letting in-flight requests finish.
 */
@Injectable()
export class DrainService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Drain');
  private drainingSince?: number;

  constructor(private readonly config: AppConfig) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.drainingSince = Date.now();
    const waitMs = signal === 'SIGTERM' ? this.config.shutdown.drainMs : 0;
    this.logger.log({ signal, waitMs }, 'Draining: readiness is now 503');
    if (waitMs > 0) await sleep(waitMs);
  }
}
