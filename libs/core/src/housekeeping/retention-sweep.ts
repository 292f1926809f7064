import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';

/** Rows kept for a number of days, and the statement that deletes those past it. */
export interface RetentionJob {
  /** What the rows are, for the log: `session events`. */
  what: string;
  /** How long a row is kept; 0 keeps every row. */
  days: number;
  /**
   * Deletes at most `limit` rows older than `days`, leaving them to whichever replica holds the job's
   * turn when several sweep at once, and answers how many it deleted.
   */
  deleteBatch(days: number, limit: number): Promise<number>;
}

/** Rows one statement deletes at most, so that it holds its locks only briefly. */
export const RETENTION_BATCH = 5000;
/** When a replica looks for rows past their retention. */
export interface RetentionTiming {
  /** The first look after boot, plus up to as much again at random, so replicas started together spread out. */
  firstMs: number;
  /** Then one look this long after the last one ended. */
  intervalMs: number;
}

const HOURLY: RetentionTiming = { firstMs: 60_000, intervalMs: 3_600_000 };

/**
 * Deletes rows past their retention on every replica, a minute or two after boot and then hourly, one
 * bounded statement after another until one comes back short. A Nest provider: it starts when the
 * application has booted and stops, waiting for the statement in flight, before it shuts down.
 */
export class RetentionSweep implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private timer?: NodeJS.Timeout;
  private pass: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly job: RetentionJob,
    private readonly timing: RetentionTiming = HOURLY,
  ) {}

  onApplicationBootstrap(): void {
    if (this.job.days > 0) this.next(this.timing.firstMs * (1 + Math.random()));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  /** Deletes every row past retention now. @returns how many */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (let batch = RETENTION_BATCH; batch === RETENTION_BATCH && !this.stopped; ) {
      batch = await this.job.deleteBatch(this.job.days, RETENTION_BATCH);
      deleted += batch;
    }
    if (deleted > 0) this.logger.log({ deleted, days: this.job.days }, `deleted ${this.job.what} past their retention`);
    return deleted;
  }

  private next(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.pass = this.sweep()
        .catch((error: unknown) => this.logger.warn({ err: error }, `deleting ${this.job.what} past their retention failed; trying again at the next look`))
        .finally(() => {
          if (!this.stopped) this.next(this.timing.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
