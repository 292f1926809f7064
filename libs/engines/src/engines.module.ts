import { Module } from '@nestjs/common';
import { EngineFactory } from './engine.factory';

/** Provides the EngineFactory; needs AppConfig and the TypeORM DataSource from the root module. */
@Module({ providers: [EngineFactory], exports: [EngineFactory] })
export class EnginesModule {}
