import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { RetentionSweep } from '@wafleet/core';
import { EventLog } from './event-log';

/** Deletes the log's events older than EVENT_RETENTION_DAYS, hourly, on every replica. */
@Injectable()
export class EventRetention extends RetentionSweep {
  constructor(log: EventLog, config: AppConfig) {
    super({ what: 'session events', days: config.retention.eventDays, deleteBatch: (days, limit) => log.prune(days, limit) });
  }
}
