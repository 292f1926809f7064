import { Injectable } from '@nestjs/common';
import { AppConfig } from '@wafleet/config';
import { loggerOptions } from '@wafleet/core';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { BaileysEngine, type EngineLogger } from './baileys.engine';
import type { Engine } from './engine';

/** What an engine needs to serve one session: which one, and the fencing epoch its owner holds. */
export interface EngineContext {
  sessionId: string;
  epoch: number | bigint | string;
}

/**
 * Makes the engine for a session. Baileys is the only engine today; the Cloud API engine will be chosen
 * here per session. Baileys logs every stanza at info, so its lines are kept at warn unless the server
 * itself runs at debug or trace.
 */
@Injectable()
export class EngineFactory {
  private readonly logger: EngineLogger;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {
    const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
    this.logger = pino(
      { ...loggerOptions(config), level: verbose ? config.logLevel : config.logLevel === 'silent' ? 'silent' : 'warn' },
      pino.destination({ dest: 1, sync: true }),
    ).child({ component: 'engine' });
  }

  create(context: EngineContext): Engine {
    return new BaileysEngine({
      sessionId: context.sessionId,
      epoch: BigInt(context.epoch),
      dataSource: this.dataSource,
      waWebSocketUrl: this.config.engines.waWebSocketUrl,
      keepAliveMs: this.config.engines.keepAliveMs,
      logger: this.logger,
    });
  }
}
