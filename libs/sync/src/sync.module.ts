import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { SyncBindings } from './sync.bindings';
import type { SyncModuleOptions } from './sync.options';
import { Bus, Cache, Cluster, Counters, Lock, PubSub, Rendezvous } from './sync.ports';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<SyncModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** Each port and the binding that serves it, spelled out so a rename cannot leave a provider undefined. */
const PORTS = [
  [Lock, (bindings: SyncBindings) => bindings.lock],
  [PubSub, (bindings: SyncBindings) => bindings.pubsub],
  [Counters, (bindings: SyncBindings) => bindings.counters],
  [Cache, (bindings: SyncBindings) => bindings.cache],
  [Rendezvous, (bindings: SyncBindings) => bindings.rendezvous],
  [Bus, (bindings: SyncBindings) => bindings.bus],
  [Cluster, (bindings: SyncBindings) => bindings.cluster],
] as const;

/**
 * The coordination primitives. Reads the backend from its options and binds each abstract class to its
 * memory or Redis implementation; domain code injects the abstract classes and never sees which.
 */
@Module({
  providers: [
    {
      provide: SyncBindings,
      inject: [MODULE_OPTIONS_TOKEN, Registry],
      useFactory: (options: SyncModuleOptions, registry: Registry) => SyncBindings.create(options, registry),
    },
    ...PORTS.map(([port, pick]) => ({ provide: port, inject: [SyncBindings], useFactory: pick })),
  ],
  exports: [SyncBindings, ...PORTS.map(([port]) => port)],
})
export class SyncModule extends ConfigurableModuleClass {}
